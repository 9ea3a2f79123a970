import AsyncHTTPClient
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TestSupport
import Testing

@testable import MockBedrock

/// Each kind of scripted step, as a client receives it over HTTP.
@Suite("MockBedrock scenarios", .timeLimit(.minutes(2)))
struct ScenarioTests {
    @Test("chunks stream as scripted with streamFinalResponse")
    func streamedChunks() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "HELLO")
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-amz-bedrock-agent-session-id") == "test-session")
            #expect(result.headers.first(name: "x-amzn-bedrock-agent-content-type") == "application/json")
            #expect(result.headers.first(name: "x-amzn-RequestId")?.isEmpty == false)
            #expect(result.chunkTexts == ["Hello! ", "I am MockBedrock, ", "an offline Bedrock agent. ", "How can I help?"])
            #expect(result.eventTypes == ["chunk", "chunk", "chunk", "chunk"], "traces only with enableTrace")
            #expect(result.streamError == nil)
            for message in result.messages {
                #expect(message.headers.map(\.name) == [":event-type", ":content-type", ":message-type"])
            }
        }
    }

    @Test("without streamFinalResponse the answer is one chunk, as Bedrock sends it")
    func joinedChunks() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "HELLO", InvokeAgentRequest(inputText: "Hi"))
            #expect(result.chunkTexts == ["Hello! I am MockBedrock, an offline Bedrock agent. How can I help?"])
        }
    }

    @Test("traces are sent only when the request enables them")
    func traces() async throws {
        try await withMock { mock in
            let traced = try await mock.invoke(
                agent: "TRACED",
                InvokeAgentRequest(inputText: "Hi", enableTrace: true, streamingConfigurations: .init(streamFinalResponse: true))
            )
            #expect(traced.eventTypes == ["trace", "chunk", "trace", "chunk"])
            let trace = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: traced.messages[0].payload))
            #expect(trace["agentId"] == .string("TRACED"))
            #expect(trace["trace"]?["orchestrationTrace"]?["rationale"]?["text"] == .string("I should look this up."))

            let untraced = try await mock.invoke(agent: "TRACED")
            #expect(untraced.eventTypes == ["chunk", "chunk"])
        }
    }

    @Test("citations travel in attribution, and are merged into a joined chunk")
    func citations() async throws {
        try await withMock { mock in
            let streamed = try await mock.invoke(agent: "CITED")
            let chunks = try streamed.messages.map { try JSONDecoder().decode(InvokeAgentEvent.Chunk.self, from: Data(buffer: $0.payload)) }
            #expect(chunks.map { $0.attribution?.citations?.count } == [1, 1])

            let joined = try await mock.invoke(agent: "CITED", InvokeAgentRequest(inputText: "Hi"))
            let chunk = try JSONDecoder().decode(InvokeAgentEvent.Chunk.self, from: Data(buffer: joined.messages[0].payload))
            #expect(chunk.attribution?.citations?.count == 2)
            #expect(joined.chunkTexts == ["Bedrock Agents orchestrate foundation models, data sources and APIs."])
        }
    }

    @Test("a files event carries names, types and base64 bytes")
    func files() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "FILES")
            #expect(result.eventTypes == ["files", "chunk"])
            let files = try JSONDecoder().decode(InvokeAgentEvent.Files.self, from: Data(buffer: result.messages[0].payload))
            let file = try #require(files.files?.first)
            #expect(file.name == "sales.csv")
            #expect(file.type == "text/csv")
            #expect(Data(base64Encoded: file.bytes ?? "") == Data("month,total\nJanuary,100\nFebruary,120\n".utf8))
        }
    }

    @Test("characters split across chunks arrive as scripted bytes")
    func splitCharacters() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "UTF8SPLIT")
            var bytes: [UInt8] = []
            for message in result.messages {
                let chunk = try JSONDecoder().decode(InvokeAgentEvent.Chunk.self, from: Data(buffer: message.payload))
                bytes += Data(base64Encoded: chunk.bytes!)!
            }
            #expect(result.messages.count == 4)
            #expect(String(decoding: bytes, as: UTF8.self) == "Café and 😀 ok")
        }
    }

    @Test("the return-control round trip: pause, wrong id refused, right id resumes")
    func returnControl() async throws {
        try await withMock { mock in
            let first = try await mock.invoke(agent: "RETCTRL", session: "weather-session")
            #expect(first.eventTypes == ["returnControl"])
            let payload = try JSONDecoder().decode(InvokeAgentEvent.ReturnControl.self, from: Data(buffer: first.messages[0].payload))
            let invocationId = try #require(payload.invocationId)
            #expect(payload.invocationInputs?.first?["functionInvocationInput"]?["function"] == .string("get_weather"))

            let results: [JSONValue] = [
                .object(["functionResult": .object(["actionGroup": .string("WeatherActions"), "function": .string("get_weather")])])
            ]
            func answer(_ id: String?) -> InvokeAgentRequest {
                InvokeAgentRequest(
                    sessionState: .init(returnControlInvocationResults: results, invocationId: id),
                    streamingConfigurations: .init(streamFinalResponse: true)
                )
            }
            let wrong = try await mock.invoke(agent: "RETCTRL", session: "weather-session", answer("not-the-id"))
            #expect(wrong.status == 400)
            #expect(wrong.errorType == "ValidationException")

            let elsewhere = try await mock.invoke(agent: "RETCTRL", session: "other-session", answer(invocationId))
            #expect(elsewhere.status == 400, "another session waits for nothing")

            let resumed = try await mock.invoke(agent: "RETCTRL", session: "weather-session", answer(invocationId))
            #expect(resumed.status == 200)
            #expect(resumed.chunkTexts == ["It is 15 degrees ", "and raining in Seattle."])

            let again = try await mock.invoke(agent: "RETCTRL", session: "weather-session", answer(invocationId))
            #expect(again.status == 400, "a pause is consumed by its results")
        }
    }

    static let exceptionAgents = BedrockException.allCases.map { exception in
        let short = [
            .accessDenied: "ACCESS", .badGateway: "BADGW", .conflict: "CONFLICT", .dependencyFailed: "DEPFAIL",
            .internalServer: "INTERNAL", .modelNotReady: "NOTREADY", .resourceNotFound: "NOTFOUND",
            .serviceQuotaExceeded: "QUOTA", .throttling: "THROTTLE", .validation: "VALID",
        ][exception]!
        return (exception, short)
    }

    @Test("each modeled exception mid-stream", arguments: exceptionAgents)
    func midStreamException(exception: BedrockException, short: String) async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "EX" + short)
            #expect(result.status == 200)
            #expect(result.chunkTexts == ["Partial answer"])
            let frame = try #require(result.messages.last)
            #expect(try frame.kind == .exception(type: exception.eventName))
            #expect(frame.headers.map(\.name) == [":exception-type", ":content-type", ":message-type"])
            let message = try JSONDecoder().decode(InvokeAgentEvent.ExceptionMessage.self, from: Data(buffer: frame.payload))
            #expect(message.message?.contains(exception.eventName) == true)
        }
    }

    @Test("each modeled exception as an HTTP error", arguments: exceptionAgents)
    func httpException(exception: BedrockException, short: String) async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "HT" + short)
            #expect(result.status == exception.httpStatus)
            #expect(result.errorType == exception.errorType)
            #expect(result.errorMessage?.isEmpty == false)
            #expect(result.headers.first(name: "content-type") == "application/json")
        }
    }

    @Test("an unmodeled error frame")
    func errorFrame() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "ERRFRAME")
            #expect(try result.messages.last?.kind == .error(code: "InternalFailure", message: "Mock unmodeled failure"))
        }
    }

    @Test("faults: a bad checksum and a truncated frame fail the decoder after the good chunk")
    func corruptFrames() async throws {
        try await withMock { mock in
            let badChecksum = try await mock.invoke(agent: "FBADCRC")
            #expect(badChecksum.chunkTexts == ["Before the fault. "])
            #expect((badChecksum.streamError as? EventStreamError)?.code == .messageChecksumMismatch)

            let truncated = try await mock.invoke(agent: "FTRUNC")
            #expect(truncated.chunkTexts == ["Before the fault. "])
            #expect((truncated.streamError as? EventStreamError)?.code == .truncatedFrame)
        }
    }

    @Test("faults: a dropped connection cuts the response body")
    func droppedConnection() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "FDROP")
            #expect(result.chunkTexts == ["Before the fault. "])
            let error = try #require(result.streamError)
            #expect(!(error is EventStreamError), "the transport fails, not the framing: \(error)")
        }
    }

    @Test("faults: a stall sends nothing after the first chunk")
    func stall() async throws {
        try await withMock { mock in
            let request = try mock.request(agent: "FSTALL")
            let received = Shared<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
                    for try await piece in response.body {
                        try processor.process(buffer: piece) { message in
                            received.withLock { $0.append(message.eventType ?? "?") }
                        }
                    }
                }
                #expect(try await eventually { received.withLock { $0.count } == 1 })
                try await Task.sleep(for: .milliseconds(700))
                group.cancelAll()
            }
            #expect(received.withLock { $0 } == ["chunk"])
        }
    }

    @Test("a recording is replayed byte for byte", arguments: ["CAPSIMPLE", "CAPGUARD", "CAPKB", "CAPMULTI"])
    func replay(agent: String) async throws {
        let recording = try Data(contentsOf: fixturesFolder.appendingPathComponent("\(agent).eventstream"))
        try await withMock { mock in
            let result = try await mock.invoke(agent: agent)
            #expect(result.status == 200)
            #expect(Data(buffer: result.body) == recording)
            #expect(result.streamError == nil)
        }
    }

    @Test("the load agent's answer follows its session attributes")
    func loadAgent() async throws {
        try await withMock { mock in
            let input = InvokeAgentRequest(
                inputText: "load",
                sessionState: .init(sessionAttributes: ["chunks": "30", "chunkBytes": "3"]),
                streamingConfigurations: .init(streamFinalResponse: true)
            )
            let result = try await mock.invoke(agent: "LOADTEST", input)
            #expect(result.chunkTexts.count == 30)
            #expect(result.chunkTexts.prefix(3) == ["aaa", "bbb", "ccc"])
            #expect(result.chunkTexts[26] == "aaa")

            var bad = input
            bad.sessionState?.sessionAttributes?["chunks"] = "many"
            let refused = try await mock.invoke(agent: "LOADTEST", bad)
            #expect(refused.status == 400)
            #expect(refused.errorMessage?.contains("sessionAttributes.chunks") == true)
        }
    }

    @Test("a throttled agent recovers after its scripted failures")
    func flaky() async throws {
        try await withMock { mock in
            #expect(try await mock.invoke(agent: "FLAKY").status == 429)
            #expect(try await mock.invoke(agent: "FLAKY").status == 429)
            let third = try await mock.invoke(agent: "FLAKY")
            #expect(third.status == 200)
            #expect(third.chunkTexts == ["Answered after retries."])
        }
    }
}
