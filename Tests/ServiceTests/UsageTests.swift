import AsyncHTTPClient
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// Token usage (`USAGE_METERING`): read from the traces Bedrock sends for it, summed per answer,
/// reported on the terminal line of every format, in the log and the metrics.
@Suite("Token usage", .timeLimit(.minutes(2)))
struct UsageTests {
    /// What a recording's trace frames report, summed here from its frames (not by hand).
    static func expectedUsage(ofRecording name: String) throws -> TokenUsage {
        let bytes = ByteBuffer(bytes: try Data(contentsOf: fixturesFolder.appendingPathComponent("\(name).eventstream")))
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        var usage = TokenUsage()
        func add(_ message: EventStreamMessage) throws {
            guard case .event(type: "trace") = try message.kind else { return }
            let trace = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: message.payload))
            guard case .object(let steps)? = trace["trace"] else { return }
            for (_, step) in steps {
                guard case .number(let input)? = step["modelInvocationOutput"]?["metadata"]?["usage"]?["inputTokens"],
                    case .number(let output)? = step["modelInvocationOutput"]?["metadata"]?["usage"]?["outputTokens"]
                else { continue }
                usage.inputTokens += Int(input)
                usage.outputTokens += Int(output)
                usage.modelInvocations += 1
            }
        }
        try processor.process(buffer: bytes) { try add($0) }
        try processor.finishProcessing(seenEOF: true) { try add($0) }
        return usage
    }

    static func usage(_ line: JSONValue?) -> JSONValue? { line?["usage"] }

    static func json(_ usage: TokenUsage) -> JSONValue {
        [
            "input_tokens": .number(Double(usage.inputTokens)), "output_tokens": .number(Double(usage.outputTokens)),
            "model_invocations": .number(Double(usage.modelInvocations)),
        ]
    }

    @Test("the sums of a fixture with known totals, in NDJSON, SSE and the UI message stream; traces still only in debug mode")
    func knownTotals() async throws {
        let expected = Self.json(TokenUsage(inputTokens: 265, outputTokens: 53, modelInvocations: 4))
        try await withService { service in
            let lines = try await service.stream(agent: "USAGE")
            lines.checkInvariants()
            #expect(lines.types == ["start", "chunk", "chunk", "completion"], "metering reads traces, it does not forward them")
            #expect(Self.usage(lines.last) == expected)
            let sse = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "USAGE"}"#,
                headers: [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
            )
            let completion = EventStreamParser(parsing: sse.body).events.last
            #expect(completion?.event == "completion")
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data((completion?.data ?? "").utf8))["usage"] == expected)
            let chat = try await service.chat(chatBody(id: "usage-chat", agent: "USAGE", messages: [userMessage("Hi")]))
            let parts = try #require(chat.uiParts)
            #expect(UIMessagePart.problems(parts) == [])
            #expect(parts.last?["messageMetadata"]?["usage"] == expected)

            let metrics = try await service.get("/metrics").body
            #expect(metrics.contains(#"agent_tokens_total{type="input"} 795"#), "three answers of 265")
            #expect(metrics.contains(#"agent_tokens_total{type="output"} 159"#))
            #expect(metrics.contains("agent_model_invocations_total 12"))
            #expect(metrics.contains("agent_answer_tokens_count 3"))
            #expect(service.logLines.value.contains { $0.contains("Agent invocation completed") && $0.contains(#""input_tokens": 265"#) })
        }
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let quiet = try await service.stream(agent: "USAGE")
            #expect(!quiet.types.contains("trace"), "in debug mode too, traces only when the request asks")
            let traced = try await service.stream(agent: "USAGE", extra: #", "enable_trace": true"#)
            #expect(traced.types.filter { $0 == "trace" }.count == 6)
            #expect(Self.usage(traced.last) == expected)
        }
    }

    @Test("every recording: the sums of its frames' usage, absent when it reports none", arguments: ["CAPSIMPLE", "CAPKB", "CAPGUARD", "CAPMULTI"])
    func recordings(agent: String) async throws {
        let expected = try Self.expectedUsage(ofRecording: agent)
        try await withService { service in
            let result = try await service.stream(agent: agent)
            result.checkInvariants()
            #expect(Self.usage(result.last) == (expected.isEmpty ? nil : Self.json(expected)))
            if agent == "CAPMULTI" {
                #expect(expected.modelInvocations == 9, "a supervisor and its collaborators")
            }
        }
    }

    @Test("USAGE_METERING=false: Bedrock is not asked for traces, and no usage is reported")
    func off() async throws {
        try await withService(environment: ["USAGE_METERING": "false"]) { service in
            let result = try await service.stream(agent: "USAGE")
            #expect(result.last?["type"] == "completion")
            #expect(Self.usage(result.last) == nil)
            #expect(try await service.get("/metrics").body.contains("agent_model_invocations_total 0"))
        }
    }

    @Test("an AgentCore Strands agent's metadata events carry its usage")
    func agentCore() async throws {
        try await withService { service in
            let result = try await service.stream(AgentCoreRuntimeTests.body("strands_hello"))
            #expect(Self.usage(result.last) == Self.json(TokenUsage(inputTokens: 12, outputTokens: 9, modelInvocations: 1)))
            let plain = try await service.stream(AgentCoreRuntimeTests.body("plain_stream"))
            #expect(Self.usage(plain.last) == nil)
        }
    }

    @Test("a trace is parsed only when it names inputTokens; a usage that is not two numbers adds nothing")
    func meter() {
        var usage = TokenUsage()
        usage.add(tracePayload: ByteBuffer(string: #"{"trace":{"orchestrationTrace":{"rationale":{"text":"no usage here"}}}}"#))
        usage.add(
            tracePayload: ByteBuffer(
                string: #"{"trace":{"orchestrationTrace":{"modelInvocationOutput":{"metadata":{"usage":{"inputTokens":"7","outputTokens":1}}}}}}"#
            )
        )
        usage.add(
            tracePayload: ByteBuffer(
                string: #"{"trace":{"otherTrace":{"modelInvocationOutput":{"metadata":{"usage":{"inputTokens":7,"outputTokens":1}}}}}}"#
            )
        )
        usage.add(tracePayload: ByteBuffer(string: #"not json but "inputTokens""#))
        #expect(usage.isEmpty)
        usage.add(
            tracePayload: ByteBuffer(
                string: #"{"trace":{"routingClassifierTrace":{"modelInvocationOutput":{"metadata":{"usage":{"inputTokens":7,"outputTokens":1}}}}}}"#
            )
        )
        #expect(usage == TokenUsage(inputTokens: 7, outputTokens: 1, modelInvocations: 1))
    }

    @Test(
        "the marker is found wherever it is, and only where it is whole",
        arguments: [
            (#""inputTokens""#, true), (#"x"inputTokens""#, true), (#"{"a":"inputTokens"}"#, true), (#""""inputTokens""#, true),
            (#""inputToken"#, false), (#""inputTokens"#, false), ("", false), (#""inputtokens""#, false), (#"inputTokens""#, false),
        ]
    )
    func marker(text: String, found: Bool) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { TokenUsage.contains(Array(#""inputTokens""#.utf8), in: $0) } == found)
    }
}
