import AgentRequest
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import AgentStreamingService

/// Request parsing and validation on their own, without a server: each rule, its message, and
/// what a valid body becomes.
@Suite("Stream request")
struct StreamRequestTests {
    private static let configuration = Result {
        try ServiceConfiguration(environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: nil)
    }

    private func parse(_ body: String, _ configuration: ServiceConfiguration? = nil) throws -> StreamRequest {
        let configuration = try configuration ?? Self.configuration.get()
        return try StreamRequest(parsing: ByteBuffer(string: body), configuration: configuration)
    }

    @Test(
        "each bad body is refused with a message naming the field",
        arguments: [

            ("{not json", "invalid_json", "not valid JSON"),
            ("[1, 2]", "invalid_json", "JSON object"),
            (#"{"agent_id": "HELLO"}"#, "invalid_request", "input_text"),
            (#"{"input_text": "   ", "agent_id": "HELLO"}"#, "invalid_request", "input_text"),
            (#"{"input_text": 5, "agent_id": "HELLO"}"#, "invalid_request", "input_text"),
            (#"{"input_text": "Hi"}"#, "invalid_request", "agent_id"),
            (#"{"input_text": "Hi", "agent_id": "NOT VALID"}"#, "invalid_request", "agent_id"),
            (#"{"input_text": "Hi", "agent_id": "ELEVENCHARS"}"#, "invalid_request", "agent_id"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "agent_alias_id": "a-b"}"#, "invalid_request", "agent_alias_id"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "session_id": "x"}"#, "invalid_request", "session_id"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "session_id": "a/b"}"#, "invalid_request", "session_id"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "session_attributes": {"a": 1}}"#, "invalid_request", "session_attributes"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "prompt_session_attributes": "x"}"#, "invalid_request", "prompt_session_attributes"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "end_session": "yes"}"#, "invalid_request", "end_session"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "memory_id": "m"}"#, "invalid_request", "memory_id"),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "stream_final_response": 1}"#, "invalid_request", "stream_final_response"),
            (#"{"agent_id": "RETCTRL", "return_control_invocation_results": [{}]}"#, "invalid_request", "invocation_id"),
            (
                #"{"agent_id": "RETCTRL", "invocation_id": "x", "return_control_invocation_results": []}"#, "invalid_request",
                "return_control_invocation_results"
            ),
            (#"{"input_text": "Hi", "agent_id": "HELLO", "invocation_id": "x"}"#, "invalid_request", "return_control_invocation_results"),
        ] as [(String, String, String)]
    )
    func badBody(body: String, code: String, mentions: String) {
        let error = #expect(throws: APIError.self) { try self.parse(body) }
        #expect(error?.status == .badRequest)
        #expect(error?.code == code)
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")")
    }

    @Test("a valid body: defaults filled in, the InvokeAgent body encoded once, traces only in debug mode")
    func valid() throws {
        let request = try self.parse(#"{"input_text": "Hello", "agent_id": "HELLO", "enable_trace": true, "session_attributes": {"tier": "gold"}}"#)
        #expect(request.inputText == "Hello")
        #expect(request.target.agentId == "HELLO")
        #expect(request.target.agentAliasId == "TSTALIASID")
        #expect(request.target.sessionId.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/) != nil)
        #expect(request.streamFinalResponse)
        let body = try StrictJSONParser.parse(request.upstreamBody.readableBytesView)
        #expect(body["inputText"] == .string("Hello"))
        #expect(body["enableTrace"] == .bool(true), "USAGE_METERING (on by default) asks for traces on every call")
        #expect(body["sessionState"]?["sessionAttributes"] == .object(["tier": .string("gold")]))
        #expect(body["streamingConfigurations"]?["streamFinalResponse"] == .bool(true))
        var unmetered = try Self.configuration.get()
        unmetered.usageMetering = false
        let plain = try StrictJSONParser.parse(
            try self.parse(#"{"input_text": "Hello", "agent_id": "HELLO", "enable_trace": true}"#, unmetered).upstreamBody.readableBytesView
        )
        #expect(plain["enableTrace"] == nil, "without metering, traces are asked for only in debug mode")
        var debug = unmetered
        debug.debugMode = true
        let traced = try StrictJSONParser.parse(
            try self.parse(#"{"input_text": "Hello", "agent_id": "HELLO", "enable_trace": true}"#, debug).upstreamBody.readableBytesView
        )
        #expect(traced["enableTrace"] == .bool(true))
    }

    @Test("an agent outside ALLOWED_AGENT_IDS is 403, after every check of the body")
    func allowedAgents() throws {
        var configuration = try Self.configuration.get()
        configuration.allowedAgentIds = ["HELLO"]
        #expect(throws: Never.self) { try self.parse(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, configuration) }
        let refused = #expect(throws: APIError.self) { try self.parse(#"{"input_text": "Hi", "agent_id": "OTHER"}"#, configuration) }
        #expect(refused == .agentNotAllowed)
        let invalid = #expect(throws: APIError.self) {
            try self.parse(#"{"input_text": "Hi", "agent_id": "OTHER", "session_id": "x"}"#, configuration)
        }
        #expect(invalid?.code == "invalid_request")
    }

    @Test("the body sent upstream is the same bytes for the same request body, its maps in key order")
    func upstreamBodyIsStable() throws {
        var names = (0..<40).map { "attribute_\($0)" }
        let attributes = names.map { #""\#($0)": "value""# }.joined(separator: ", ")
        let body = #"{"input_text": "Hi", "agent_id": "HELLO", "session_id": "s-1", "session_attributes": {\#(attributes)}}"#
        let first = try self.parse(body)
        let bodies = try (0..<20).map { _ in try self.parse(body).upstreamBody }
        #expect(bodies.allSatisfy { $0 == first.upstreamBody })
        let json = String(buffer: first.upstreamBody)
        names.sort()
        let offsets = names.map { json.range(of: "\"\($0)\"")!.lowerBound }
        #expect(offsets == offsets.sorted())
    }

    @Test("the library's refusals become the API's errors: 400 invalid_json, 400 invalid_request, 403 agent_not_allowed")
    func refusalsAsAPIErrors() {
        let json = APIError(RequestRefusal.invalidJSON("unexpected end at byte 3"))
        #expect(json.status == .badRequest && json.code == "invalid_json" && json.message.hasSuffix("unexpected end at byte 3"))
        let field = APIError(RequestRefusal.invalidField("agent_id", "is required"))
        #expect(field.status == .badRequest && field.code == "invalid_request" && field.message == "agent_id is required")
        let forbidden = APIError(RequestRefusal.agentNotAllowed)
        #expect(forbidden == .agentNotAllowed && forbidden.status == .forbidden)
    }
}
