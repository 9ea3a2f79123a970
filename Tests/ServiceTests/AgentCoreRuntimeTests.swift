import AWSAccess
import AgentRequest
import AsyncHTTPClient
import Authentication
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// The AgentCore Runtime backend end to end against MockBedrock's InvokeAgentRuntime (which
/// verifies every SigV4 signature in full, scoped to `bedrock-agentcore`): the runtime fixtures
/// through the NDJSON contract, SSE and the UI message stream; errors, retries, time limits and
/// cancellation as for InvokeAgent; the session id mapping; what a request may name.
@Suite("AgentCore Runtime backend", .timeLimit(.minutes(2)))
struct AgentCoreRuntimeTests {
    static func arn(_ name: String) -> String {
        "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/\(name)-Ab12Cd34Ef"
    }

    static func body(_ name: String, _ extra: String = "") -> String {
        #"{"input_text": "Hello", "agent_runtime_arn": "\#(arn(name))"\#(extra)}"#
    }

    @Test(
        "streamed answers: text once (not the raw model events too), JSON and text answers as chunks",
        arguments: [
            ("strands_hello", "Hello! I am a Strands agent on AgentCore.", 4),
            ("strands_tools", "Let me check the weather. It is 4 degrees and snowing in Oslo.", 2),
            ("plain_stream", "Plain streamed text: café 😀.", 3),
            ("json_answer", "The answer is 42.", 1),
            ("text_answer", "First part, second part.", 2),
        ]
    )
    func answers(runtime: String, text: String, chunks: Int) async throws {
        try await withService { service in
            let result = try await service.stream(Self.body(runtime, #", "session_id": "ac-\#(runtime)""#))
            result.checkInvariants()
            #expect(result.status == 200)
            #expect(result.last?["final_content"] == .string(text))
            #expect(result.types.filter { $0 == "chunk" }.count == chunks)
            #expect(result.lines[0]["agent_id"] == .string(Self.arn(runtime)))
            #expect(result.lines[0]["agent_alias_id"] == "DEFAULT")
            #expect(result.lines[0]["session_id"] == .string("ac-\(runtime)"))
            #expect(!result.types.contains("trace"), "tool use is a trace in debug mode only")
            let sent = try #require(service.mock.invocations.last)
            #expect(sent.agentRuntimeArn == Self.arn(runtime))
            #expect(sent.payload == ["prompt": "Hello"])
        }
    }

    @Test("the load runtime: every chunk of either event style once, checked byte for byte", arguments: ["text", "strands"])
    func loadRuntime(style: String) async throws {
        try await withService { service in
            let result = try await service.stream(
                #"{"agent_runtime_arn": "\#(Self.arn("loadtest"))", "payload": {"chunks": 30, "chunkBytes": 3, "style": "\#(style)"}}"#
            )
            result.checkInvariants()
            #expect(result.types.filter { $0 == "chunk" }.count == 30)
            let expected = (0..<30).map { String(repeating: String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0 % 26))), count: 3) }.joined()
            #expect(result.last?["final_content"] == .string(expected))
            let refused = try await service.stream(#"{"agent_runtime_arn": "\#(Self.arn("loadtest"))", "payload": {"chunks": -1}}"#)
            #expect(refused.last?["error_code"] == "invalid_upstream_request")
        }
    }

    @Test("in debug mode a tool call is a trace line, and the formats carry the same text")
    func formats() async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let lines = try await service.stream(Self.body("strands_tools", #", "enable_trace": true"#))
            let traces = lines.lines.filter { $0["type"] == "trace" }
            #expect(!traces.isEmpty)
            #expect(traces.allSatisfy { $0["trace"]?["current_tool_use"]?["name"] == "get_weather" })
            let sse = try await service.stream(
                Self.body("strands_hello"),
                headers: [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
            )
            #expect(sse.headers.first(name: "content-type") == "text/event-stream")
            #expect(EventStreamParser(parsing: sse.body).events.map(\.event).last == "completion")
            let chat = try await service.chat(
                #"{"id": "chat-ac", "agent_runtime_arn": "\#(Self.arn("strands_hello"))", "messages": [\#(userMessage("Hi"))]}"#
            )
            let parts = try #require(chat.uiParts)
            #expect(UIMessagePart.problems(parts) == [])
            #expect(chat.uiText == "Hello! I am a Strands agent on AgentCore.")
        }
    }

    @Test("a container's error event ends the stream with agent_error; its text is logged, never sent")
    func containerError() async throws {
        try await withService { service in
            let result = try await service.stream(Self.body("container_error"))
            result.checkInvariants()
            #expect(result.types == ["start", "chunk", "error"])
            #expect(result.last?["error_code"] == "agent_error")
            #expect(result.last?["retryable"] == .bool(false))
            #expect(!result.body.contains("ConverseStream") && !result.body.contains("foundation-model"))
            #expect(service.logLines.value.contains { $0.contains("agent_error") && $0.contains("AccessDeniedException: An error occurred") })
        }
    }

    static let modeled: [(String, String, Bool)] = [
        ("access_denied", "access_denied", false),
        ("internal_server", "agentcore_internal_error", true),
        ("resource_not_found", "agent_not_found", false),
        ("retryable_conflict", "conflict", true),
        ("runtime_client_error", "runtime_client_error", false),
        ("service_quota_exceeded", "quota_exceeded", false),
        ("throttling", "throttled", true),
        ("validation", "invalid_upstream_request", false),
    ]

    @Test("each modeled error as its error line, retried before the first event where that helps", arguments: modeled)
    func modeledErrors(name: String, code: String, retryable: Bool) async throws {
        try await withService { service in
            let result = try await service.stream(Self.body("http_" + name))
            result.checkInvariants()
            #expect(result.types == ["start", "error"])
            #expect(result.last?["error_code"] == .string(code))
            #expect(result.last?["retryable"] == .bool(retryable))
            #expect(service.mock.statistics.invocations == (retryable ? 3 : 1))
        }
    }

    @Test("retries, a dropped connection, a stall, and a client that leaves")
    func failuresAndCancellation() async throws {
        try await withService(environment: ["IDLE_TIMEOUT_SECONDS": "0.5"]) { service in
            let flaky = try await service.stream(Self.body("flaky_runtime"))
            #expect(flaky.last?["final_content"] == "Third time lucky.")
            #expect(service.mock.statistics.invocations == 3)
            let dropped = try await service.stream(Self.body("drop_stream"))
            #expect(dropped.types == ["start", "chunk", "error"])
            #expect(dropped.last?["error_code"] == "stream_interrupted")
            let stalled = try await service.stream(Self.body("stall_stream"))
            #expect(stalled.last?["error_code"] == "idle_timeout")

        }
    }

    @Test("the answer streams as it comes, and a client that disconnects cancels the InvokeAgentRuntime call")
    func disconnect() async throws {
        try await withService { service in
            let seen = Shared("")
            let reader = Task {
                let response = try await HTTPClient.shared.execute(service.request(Self.body("slow_stream")), timeout: .seconds(30))
                for try await piece in response.body {
                    seen.withLock { $0 += String(buffer: piece) }
                }
            }
            let first = try await eventually { seen.value.contains("part 1. ") }
            #expect(first)
            #expect(!seen.value.contains("part 10. "), "the first part arrived before the last was sent")
            reader.cancel()
            let cancelled = try await eventually { service.mock.statistics.streamsInterrupted == 1 }
            #expect(cancelled, "the InvokeAgentRuntime call was cancelled")
            let logged = try await eventually { service.logLines.value.contains { $0.contains("Client disconnected") } }
            #expect(logged)
        }
    }

    @Test("session ids: a short one maps to 33+ characters stably, a long one goes as it is; per principal with keys")
    func sessions() async throws {
        try await withService { service in
            for _ in 0..<2 {
                _ = try await service.stream(Self.body("plain_stream", #", "session_id": "s-1""#))
            }
            let long = String(repeating: "L", count: 40)
            _ = try await service.stream(Self.body("plain_stream", #", "session_id": "\#(long)""#))
            let sessions = service.mock.invocations.map(\.sessionId)
            #expect(sessions[0] == sessions[1])
            #expect(sessions[0] == "session-" + Hashing.hex(Hashing.sha256(Array("s-1".utf8))))
            #expect(sessions[2] == long)
        }
    }

    @Test("with a principal, the runtime session is the principal's own: stable, and another's differs; its agents apply")
    func principalSessions() throws {
        let configuration = try ServiceConfiguration(environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: nil)
        func request(_ principal: Principal) throws -> StreamRequest {
            try StreamRequest(
                parsing: ByteBuffer(string: Self.body("plain_stream", #", "session_id": "s-1""#)),
                configuration: configuration,
                principal: principal
            )
        }
        let alice = try request(Principal(kind: .apiKey, id: "alice"))
        let again = try request(Principal(kind: .apiKey, id: "alice"))
        let bob = try request(Principal(kind: .apiKey, id: "bob"))
        let anonymous = try StreamRequest(
            parsing: ByteBuffer(string: Self.body("plain_stream", #", "session_id": "s-1""#)),
            configuration: configuration
        )
        #expect(alice.runtime?.sessionId == again.runtime?.sessionId)
        #expect(alice.runtime?.sessionId != bob.runtime?.sessionId)
        #expect(alice.runtime?.sessionId != anonymous.runtime?.sessionId)
        #expect(alice.runtime.map { AgentCoreIdentifier.runtimeSessionId.violation(in: $0.sessionId) == nil } == true)
        #expect(alice.target.sessionId == "s-1", "the client keeps seeing its own")
        let limited = Principal(kind: .apiKey, id: "carol", agents: ["HELLO"])
        #expect(throws: APIError.self) { try request(limited) }
    }

    @Test("AGENTCORE_RUNTIMES names runtimes for frontends; a body's qualifier and payload go as given")
    func namedRuntimes() async throws {
        let named = "weather=\(Self.arn("plain_stream")):prod,strands=\(Self.arn("strands_hello"))"
        try await withService(environment: ["AGENTCORE_RUNTIMES": named]) { service in
            let weather = try await service.stream(#"{"input_text": "Hi", "agent_id": "weather"}"#)
            #expect(weather.last?["final_content"] == "Plain streamed text: café 😀.")
            #expect(weather.lines[0]["agent_id"] == "weather")
            #expect(weather.lines[0]["agent_alias_id"] == "prod")
            #expect(service.mock.invocations.last?.agentAliasId == "prod")
            _ = try await service.stream(#"{"agent_id": "strands", "qualifier": "canary", "payload": {"prompt": "Hi", "n": 2}}"#)
            let sent = try #require(service.mock.invocations.last)
            #expect(sent.agentAliasId == "canary")
            #expect(sent.payload == ["prompt": "Hi", "n": .number(2)])
            let health = try await service.get("/health")
            #expect(health.json?["details"]?["backends"]?["agentcore_runtime"]?["runtimes"] == ["strands", "weather"])
            #expect(health.json?["details"]?["backends"]?["agentcore_runtime"]?["runtime_arns"] == "any")
        }
    }

    @Test(
        "refused before any call, each naming the field",
        arguments: [
            (#"{"input_text": "Hi", "agent_runtime_arn": "arn:aws:bedrock:us-east-1:123456789012:agent/X"}"#, "agent_runtime_arn"),
            (body("plain_stream", #", "qualifier": "not-a-name""#), "qualifier"),
            (body("plain_stream", #", "agent_id": "HELLO""#), "agent_runtime_arn and agent_id"),
            (body("plain_stream", #", "session_attributes": {"a": "b"}"#), "session_attributes is for Bedrock agents"),
            (body("plain_stream", #", "agent_alias_id": "TSTALIASID""#), "agent_alias_id is for Bedrock agents"),
            (body("plain_stream", #", "payload": {"prompt": "x"}"#), "payload replaces input_text"),
            (body("plain_stream", #", "payload": [1]"#), "payload must be a JSON object"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "payload": {}}"#, "payload is for AgentCore runtimes"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "qualifier": "DEFAULT"}"#, "qualifier is for AgentCore runtimes"),
            (#"{"agent_runtime_arn": "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/a-0123456789"}"#, "input_text"),
        ]
    )
    func refusals(body: String, problem: String) async throws {
        try await withService { service in
            let refused = try await service.stream(body)
            #expect(refused.status == 400)
            #expect(refused.json?["message"]?.stringValue?.contains(problem) == true, "\(refused.body)")
            #expect(service.mock.statistics.invocations == 0)
        }
    }

    @Test("ALLOWED_AGENT_RUNTIME_ARNS limits the runtimes; with only ALLOWED_AGENT_IDS, only named runtimes")
    func allowedRuntimes() async throws {
        try await withService(environment: ["ALLOWED_AGENT_RUNTIME_ARNS": Self.arn("plain_stream")]) { service in
            #expect(try await service.stream(Self.body("plain_stream")).status == 200)
            let refused = try await service.stream(Self.body("strands_hello"))
            #expect(refused.status == 403)
            #expect(refused.json?["error_code"] == "agent_not_allowed")
        }
        try await withService(environment: ["ALLOWED_AGENT_IDS": "HELLO", "AGENTCORE_RUNTIMES": "plain=\(Self.arn("plain_stream"))"]) {
            service in
            #expect(try await service.stream(Self.body("strands_hello")).status == 403, "no ARN a client names")
            #expect(try await service.stream(Self.body("plain_stream")).status == 200, "the named runtime's ARN")
            #expect(try await service.stream(#"{"input_text": "Hi", "agent_id": "plain"}"#).status == 200)
            let health = try await service.get("/health")
            #expect(health.json?["details"]?["backends"]?["agentcore_runtime"]?["runtime_arns"] == "named")
        }
    }

    @Test(
        "configuration errors name the variable",
        arguments: [
            (["AGENTCORE_RUNTIMES": "weather"], "name=arn"),
            (["AGENTCORE_RUNTIMES": "bad name=\(arn("a"))"], "names a runtime"),
            (["AGENTCORE_RUNTIMES": "w=arn:aws:bedrock:us-east-1:123456789012:agent/X"], "invalid runtime"),
            (["AGENTCORE_RUNTIMES": "w=\(arn("a")):bad-qualifier"], "qualifier"),
            (["AGENTCORE_RUNTIMES": "w=\(arn("a")),w=\(arn("b"))"], "twice"),
            (["AGENTCORE_RUNTIMES": "HELLO=\(arn("a"))", "ALLOWED_AGENT_IDS": "HELLO"], "ALLOWED_AGENT_IDS"),
            (["AGENTCORE_RUNTIMES": "w=\(arn("a"))", "ALLOWED_AGENT_RUNTIME_ARNS": arn("b")], "does not hold"),
            (["ALLOWED_AGENT_RUNTIME_ARNS": "not-an-arn"], "ALLOWED_AGENT_RUNTIME_ARNS"),
        ] as [([String: String], String)]
    )
    func configuration(environment: [String: String], problem: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(environment: environment.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 }, homeDirectory: nil)
        }
        #expect(error?.description.contains(problem) == true, "\(error?.description ?? "")")
    }
}
