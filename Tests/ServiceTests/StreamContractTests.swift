import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// The NDJSON contract, fixture by fixture: what a frontend receives, line by line.
@Suite("Stream contract", .timeLimit(.minutes(2)))
struct StreamContractTests {
    @Test("a streamed answer: start, chunks with accumulated content, completion")
    func hello() async throws {
        try await withService { service in
            let result = try await service.stream(#"{"input_text": "Hi", "agent_id": "HELLO", "session_id": "user-1:chat.7"}"#)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "content-type") == "application/x-ndjson")
            #expect(result.headers.first(name: "cache-control")?.contains("no-cache") == true)
            let requestId = try #require(result.headers.first(name: "x-request-id"))
            result.checkInvariants()
            #expect(result.types == ["start", "chunk", "chunk", "chunk", "chunk", "completion"])
            let lines = result.lines
            #expect(lines[0]["session_id"] == .string("user-1:chat.7"))
            #expect(lines[0]["agent_id"] == .string("HELLO"))
            #expect(lines[0]["agent_alias_id"] == .string("TSTALIASID"))
            #expect(lines[0]["request_id"] == .string(requestId))
            #expect(
                lines[1...4].map { $0["content"]?.stringValue } == ["Hello! ", "I am MockBedrock, ", "an offline Bedrock agent. ", "How can I help?"]
            )
            #expect(lines[2]["accumulated_content"] == .string("Hello! I am MockBedrock, "))
            #expect(lines[1]["citations"] == nil)
            #expect(lines[5]["final_content"] == .string("Hello! I am MockBedrock, an offline Bedrock agent. How can I help?"))
            #expect(lines[5]["session_id"] == .string("user-1:chat.7"))
            #expect(lines[5]["chunks"] == .number(4))
        }
    }

    @Test("without stream_final_response Bedrock sends one chunk, and so does the stream")
    func oneBlob() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "HELLO", extra: #", "stream_final_response": false"#)
            result.checkInvariants()
            #expect(result.types == ["start", "chunk", "completion"])
        }
    }

    @Test("the configured default streams; a generated session id is valid and echoed")
    func defaults() async throws {
        try await withService(environment: ["STREAM_FINAL_RESPONSE": "false"]) { service in
            let result = try await service.stream(agent: "HELLO")
            #expect(result.types == ["start", "chunk", "completion"])
            let session = try #require(result.lines[0]["session_id"]?.stringValue)
            #expect(BedrockIdentifier.sessionId.violation(in: session) == nil)
            #expect(result.last?["session_id"]?.stringValue == session)
        }
    }

    @Test("citations are carried on the chunk they belong to")
    func citations() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "CITED")
            result.checkInvariants()
            let chunks = result.lines.filter { $0["type"] == .string("chunk") }
            #expect(chunks.count == 2)
            guard case .array(let citations)? = chunks[0]["citations"] else {
                Issue.record("no citations on the first chunk")
                return
            }
            #expect(citations.first?["retrievedReferences"] != nil)
        }
    }

    @Test("traces are forwarded only in debug mode, and only then requested")
    func traces() async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let traced = try await service.stream(agent: "TRACED", extra: #", "enable_trace": true"#)
            traced.checkInvariants()
            #expect(traced.types == ["start", "trace", "chunk", "trace", "chunk", "completion"])
            #expect(traced.lines[1]["trace"]?["agentId"] == .string("TRACED"))
            #expect(traced.lines[1]["trace"]?["trace"]?["orchestrationTrace"] != nil)
            let untraced = try await service.stream(agent: "TRACED")
            #expect(untraced.types == ["start", "chunk", "chunk", "completion"], "enable_trace not asked for")
        }
        try await withService { service in
            let result = try await service.stream(agent: "TRACED", extra: #", "enable_trace": true"#)
            #expect(result.types == ["start", "chunk", "chunk", "completion"], "without DEBUG_MODE")
        }
    }

    @Test("files are forwarded with name, type and base64 bytes")
    func files() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "FILES")
            result.checkInvariants()
            #expect(result.types == ["start", "files", "chunk", "completion"])
            guard case .array(let files)? = result.lines[1]["files"], let file = files.first else {
                Issue.record("no files")
                return
            }
            #expect(file["name"] == .string("sales.csv"))
            #expect(file["type"] == .string("text/csv"))
            #expect(Data(base64Encoded: file["bytes"]?.stringValue ?? "") == Data("month,total\nJanuary,100\nFebruary,120\n".utf8))
        }
    }

    @Test("a character split across Bedrock chunks arrives whole")
    func splitCharacters() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "UTF8SPLIT")
            result.checkInvariants()
            let contents = result.lines.compactMap { $0["type"] == .string("chunk") ? $0["content"]?.stringValue : nil }
            #expect(contents == ["Caf", "é and ", "😀 ok"])
            #expect(result.last?["final_content"] == .string("Café and 😀 ok"))
            #expect(!result.body.contains("\u{FFFD}"))
        }
    }

    @Test("the return-control round trip the original could not finish")
    func returnControl() async throws {
        try await withService { service in
            let first = try await service.stream(#"{"input_text": "Weather?", "agent_id": "RETCTRL", "session_id": "weather-1"}"#)
            first.checkInvariants()
            #expect(first.types == ["start", "return_control", "completion"])
            let control = first.lines[1]
            let invocationId = try #require(control["invocation_id"]?.stringValue)
            guard case .array(let inputs)? = control["invocation_inputs"] else {
                Issue.record("no invocation inputs")
                return
            }
            #expect(inputs.first?["functionInvocationInput"]?["function"] == .string("get_weather"))

            let answer = """
                {"agent_id": "RETCTRL", "session_id": "weather-1", "invocation_id": "\(invocationId)",
                 "return_control_invocation_results": [{"functionResult": {"actionGroup": "WeatherActions", "function": "get_weather",
                   "responseBody": {"TEXT": {"body": "15 degrees, raining"}}}}]}
                """
            let second = try await service.stream(answer)
            second.checkInvariants()
            #expect(second.last?["final_content"] == .string("It is 15 degrees and raining in Seattle."))
        }
    }

    static let captures = ["CAPSIMPLE", "CAPGUARD", "CAPKB", "CAPMULTI"]

    @Test("real recorded answers: the final content is the recording's text", arguments: captures)
    func recordings(agent: String) async throws {
        struct Summary: Decodable {
            var final_text: String
            var events: [String: Int]
        }
        let summary = try JSONDecoder().decode(
            Summary.self,
            from: Data(contentsOf: fixturesFolder.appendingPathComponent("captures/\(agent).json"))
        )
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let result = try await service.stream(agent: agent, extra: #", "enable_trace": true"#)
            result.checkInvariants()
            #expect(result.last?["final_content"] == .string(summary.final_text))
            #expect(result.last?["chunks"] == .number(Double(summary.events["chunk"] ?? 0)))
            #expect(result.types.filter { $0 == "trace" }.count == summary.events["trace"] ?? 0)
            if agent == "CAPKB" {
                let chunk = result.lines.first { $0["type"] == .string("chunk") }
                guard case .array(let citations)? = chunk?["citations"] else {
                    Issue.record("the knowledge-base answer lost its citations")
                    return
                }
                #expect(!citations.isEmpty)
            }
        }
    }

    @Test("each line is written the moment it is known: the first chunk arrives while the mock still streams")
    func incrementalDelivery() async throws {
        try await withService { service in
            let response = try await HTTPClient.shared.execute(
                service.request(#"{"input_text": "Hi", "agent_id": "SLOW"}"#),
                timeout: .seconds(30)
            )
            var text = ""
            var chunkLinesSeen = 0
            var mockFinishedAtFirstChunk: Bool?
            for try await piece in response.body {
                text += String(buffer: piece)
                chunkLinesSeen = text.components(separatedBy: "\"type\":\"chunk\"").count - 1
                if chunkLinesSeen >= 1 && mockFinishedAtFirstChunk == nil {
                    mockFinishedAtFirstChunk = service.mock.statistics.streamsCompleted > 0
                }
            }
            #expect(mockFinishedAtFirstChunk == false)
            #expect(chunkLinesSeen == 10)
        }
    }

    @Test("the head and the start line arrive while the agent is still silent")
    func startWhileAgentThinks() async throws {
        try await withService(environment: ["FIRST_EVENT_TIMEOUT_SECONDS": "30"]) { service in
            let response = try await HTTPClient.shared.execute(
                service.request(#"{"input_text": "Hi", "agent_id": "FSILENT"}"#),
                timeout: .seconds(60)
            )
            #expect(response.status == .ok)
            var body = response.body.makeAsyncIterator()
            let first = try #require(try await body.next())
            let line = try #require(String(buffer: first).split(separator: "\n").first)
            let start = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            #expect(start["type"] == .string("start"))
            #expect(service.mock.statistics.streamsInterrupted == 0, "the agent was still silent")
        }
    }
}
