import AWSAccess
import Authentication
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat

/// A validated `POST /api/agent/stream` body. Field names are the original API's snake_case; each
/// problem is refused with a message naming the field.
///
/// The agent is a Bedrock agent (`agent_id`, `agent_alias_id`), or an AgentCore Runtime
/// (`agent_runtime_arn` and `qualifier`, or an `agent_id` that `AGENTCORE_RUNTIMES` names), whose
/// payload is `{"prompt": input_text}` or the body's `payload` object.
public struct StreamRequest: Sendable, Equatable {
    /// `nil` only when invocation results are sent back, which Bedrock answers without a prompt.
    public var inputText: String?
    /// The agent, alias and session as the client named them (its lines show these). For a
    /// runtime: its name (or ARN), its qualifier (`DEFAULT` when none), and the session.
    public var target: InvokeAgentTarget
    /// The AgentCore Runtime to invoke instead of a Bedrock agent, with the runtime session id.
    public var runtime: AgentRuntimeTarget?
    /// The session id sent to Bedrock: the client's, or with a principal, one derived from both
    /// (``SessionScope``).
    public var bedrockSessionId: String
    public var sessionAttributes: [String: String]?
    public var promptSessionAttributes: [String: String]?
    public var endSession: Bool?
    public var memoryId: String?
    /// What the client asked for; traces are requested from Bedrock only in debug mode.
    public var enableTrace: Bool
    public var returnControlInvocationResults: [JSONValue]?
    public var invocationId: String?
    public var streamFinalResponse: Bool
    /// The body sent upstream: InvokeAgent's, as ``invokeAgentRequest(debug:metering:)`` encodes it
    /// under the service's debug policy and metering, or the runtime's payload.
    public var upstreamBody = ByteBuffer()

    /// Parses and validates `body`, sent by `principal` (`nil` with `AUTH_MODE=none`).
    public init(body: ByteBuffer, rules: RequestRules, principal: Principal? = nil) throws(RequestRefusal) {
        try self.init(fields: Self.jsonObject(body), rules: rules, principal: principal)
    }

    /// Validates the fields of a body already parsed (`/api/chat`'s, translated by ``ChatRequest``).
    public init(fields: [String: JSONValue], rules: RequestRules, principal: Principal? = nil) throws(RequestRefusal) {
        let reader = FieldReader(fields: fields)
        let runtime = try Self.runtime(reader, rules: rules)

        self.returnControlInvocationResults = try reader.objects("return_control_invocation_results", count: 1...5)
        self.invocationId = try reader.string("invocation_id")
        if self.returnControlInvocationResults != nil && self.invocationId?.isEmpty != false {
            throw .invalidField("invocation_id", "is required with return_control_invocation_results")
        }
        if self.invocationId != nil && self.returnControlInvocationResults == nil {
            throw .invalidField("return_control_invocation_results", "is required with invocation_id")
        }

        let payload = try reader.object("payload")
        self.inputText = try reader.string("input_text")
        if let inputText {
            let length = inputText.unicodeScalars.count
            guard !Self.isBlank(inputText) else {
                throw .invalidField("input_text", "must not be empty")
            }
            guard length <= rules.maxInputCharacters else {
                throw .invalidField("input_text", "must be at most \(rules.maxInputCharacters) characters, got \(length)")
            }
        } else if self.returnControlInvocationResults == nil && payload == nil {
            throw .invalidField("input_text", "is required")
        }

        let sessionId = try reader.string("session_id") ?? UUID.systemRandom().uuidString.lowercased()
        try Self.check(sessionId, "session_id", .sessionId)
        self.sessionAttributes = try reader.stringMap("session_attributes")
        self.promptSessionAttributes = try reader.stringMap("prompt_session_attributes")
        self.endSession = try reader.boolean("end_session")
        self.memoryId = try reader.string("memory_id")
        self.enableTrace = try reader.boolean("enable_trace") ?? false
        self.streamFinalResponse = try reader.boolean("stream_final_response") ?? rules.streamFinalResponse

        if let runtime {
            // What only a Bedrock agent takes.
            for name in [
                "agent_alias_id", "session_attributes", "prompt_session_attributes", "memory_id", "end_session", "invocation_id",
                "return_control_invocation_results",
            ] where fields[name].map({ $0 != .null }) == true {
                throw .invalidField(name, "is for Bedrock agents; an AgentCore runtime takes payload (and qualifier)")
            }
            if payload != nil && self.inputText != nil {
                throw .invalidField("payload", "replaces input_text for an AgentCore runtime: send one of them")
            }
            self.target = InvokeAgentTarget(agentId: runtime.name, agentAliasId: runtime.qualifier ?? "DEFAULT", sessionId: sessionId)
            self.bedrockSessionId = sessionId
            // A valid request for a runtime this API may not invoke: 403, after every 400.
            guard rules.agentCore.allows(arn: runtime.arn, allowedAgentIds: rules.allowedAgentIds) else {
                throw .agentNotAllowed
            }
            if let principal {
                try self.admit(principal)
                self.bedrockSessionId = SessionScope.bedrockSessionId(principal: principal, sessionId: sessionId)
            }
            self.runtime = AgentRuntimeTarget(
                arn: runtime.arn,
                qualifier: runtime.qualifier,
                sessionId: Self.runtimeSessionId(self.bedrockSessionId)
            )
            self.upstreamBody = Self.payloadBody(payload ?? .object(["prompt": .string(self.inputText ?? "")]))
            return
        }
        if payload != nil {
            throw .invalidField("payload", "is for AgentCore runtimes (agent_runtime_arn); a Bedrock agent takes input_text")
        }

        guard let agentId = try reader.string("agent_id") else {
            throw .invalidField("agent_id", "is required (or agent_runtime_arn for an AgentCore runtime)")
        }
        self.target = InvokeAgentTarget(
            agentId: agentId,
            agentAliasId: try reader.string("agent_alias_id") ?? rules.defaultAgentAliasId,
            sessionId: sessionId
        )
        try Self.check(self.target.agentId, "agent_id", .agentId)
        try Self.check(self.target.agentAliasId, "agent_alias_id", .agentAliasId)
        self.bedrockSessionId = self.target.sessionId
        if let memoryId { try Self.check(memoryId, "memory_id", .memoryId) }
        // A valid request for an agent this API may not invoke: 403, after every 400.
        if let allowed = rules.allowedAgentIds, !allowed.contains(self.target.agentId) {
            throw .agentNotAllowed
        }
        if let principal {
            try self.admit(principal)
            self.scope(to: principal)
        }
        // Encoded once, here: what cannot be sent to Bedrock is refused before the stream starts,
        // and every attempt signs the same bytes, the same for the same body (keys sorted). The
        // error names no value (they hold the prompt).
        do {
            let json = try JSONEncoder.sortedKeys.encode(self.invokeAgentRequest(debug: rules.debug, metering: rules.usageMetering))
            self.upstreamBody = ByteBuffer(data: json)
        } catch {
            throw .invalidField("the request", "cannot be encoded for Bedrock")
        }
    }

    /// The runtime a body names, by `agent_runtime_arn` (and `qualifier`) or by an `agent_id` that
    /// `AGENTCORE_RUNTIMES` names; `nil` for a Bedrock agent.
    private static func runtime(
        _ reader: FieldReader,
        rules: RequestRules
    ) throws(RequestRefusal) -> (name: String, arn: String, qualifier: String?)? {
        let qualifier = try reader.string("qualifier")
        if let qualifier, let problem = AgentCoreIdentifier.qualifier.violation(in: qualifier) {
            throw .invalidField("qualifier", "is invalid: " + problem)
        }
        if let arn = try reader.string("agent_runtime_arn") {
            if reader.fields["agent_id"].map({ $0 != .null }) == true {
                throw .invalidField("agent_runtime_arn", "and agent_id name two agents: send one of them")
            }
            if let problem = AgentCoreIdentifier.runtimeArn.violation(in: arn) {
                throw .invalidField(
                    "agent_runtime_arn",
                    "is invalid: " + problem.replacingOccurrences(of: "agentRuntimeArn", with: "agent_runtime_arn")
                )
            }
            return (arn, arn, qualifier)
        }
        if case .string(let name)? = reader.fields["agent_id"], let named = rules.agentCore.runtimes[name] {
            // The body's qualifier, else the configured one.
            return (name, named.arn, qualifier ?? named.qualifier)
        }
        if qualifier != nil {
            throw .invalidField("qualifier", "is for AgentCore runtimes (agent_runtime_arn, or an agent named in AGENTCORE_RUNTIMES)")
        }
        return nil
    }

    /// A Bedrock-style session id as a runtime session id, which AgentCore wants 33 to 256
    /// characters long: a long enough one as it is, a shorter one mapped stably (`session-` and the
    /// 64 hex digits of its SHA-256).
    public static func runtimeSessionId(_ sessionId: String) -> String {
        if AgentCoreIdentifier.runtimeSessionId.violation(in: sessionId) == nil { return sessionId }
        return "session-" + Hashing.hex(Hashing.sha256(Array(sessionId.utf8)))
    }

    /// What counts as blank: ECMA-262's white space and line terminators, so that the OpenAPI
    /// document's pattern (``notBlankPattern``) means the same in every JSON Schema validator.
    public static let blankScalars: Set<Unicode.Scalar> = Set(
        [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF].compactMap(Unicode.Scalar.init)
            + (0x2000...0x200A).compactMap(Unicode.Scalar.init)
    )

    /// A string with a character that is not blank.
    public static let notBlankPattern = #"[^\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"#

    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy(Self.blankScalars.contains)
    }

    /// The principal may invoke this agent (`agents` of its key or claims), or the request is 403.
    private func admit(_ principal: Principal) throws(RequestRefusal) {
        if let agents = principal.agents, !agents.contains(self.target.agentId) {
            throw .agentNotAllowed
        }
    }

    private static func payloadBody(_ payload: JSONValue) -> ByteBuffer {
        let json: Data = (try? JSONEncoder.sortedKeys.encode(payload)) ?? Data("{}".utf8)
        return ByteBuffer(data: json)
    }

    /// A request body as a JSON object, read by the strict parser; the errors every route answers.
    public static func jsonObject(_ body: ByteBuffer) throws(RequestRefusal) -> [String: JSONValue] {
        let json: JSONValue
        do {
            json = try body.withUnsafeReadableBytes { bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) }
        } catch {
            throw .invalidJSON(error.description)
        }
        guard case .object(let fields) = json else {
            throw .invalidJSON("the body must be a JSON object")
        }
        return fields
    }

    /// The agent, alias and session as Bedrock is asked for them.
    public var bedrockTarget: InvokeAgentTarget {
        var target = self.target
        target.sessionId = self.bedrockSessionId
        return target
    }

    /// The principal's own session and memory, and its identity in the session attributes.
    private mutating func scope(to principal: Principal) {
        self.bedrockSessionId = SessionScope.bedrockSessionId(principal: principal, sessionId: self.target.sessionId)
        self.memoryId = self.memoryId.map { SessionScope.bedrockMemoryId(principal: principal, memoryId: $0) }
        self.sessionAttributes = SessionScope.sessionAttributes(self.sessionAttributes, principal: principal)
        self.promptSessionAttributes = SessionScope.withoutReserved(self.promptSessionAttributes)
    }

    /// The InvokeAgent body for this request; traces are asked for when `metering` reads their
    /// token usage, or when the client asked for them and `debug` allows.
    public func invokeAgentRequest(debug: DebugPolicy, metering: Bool = false) -> InvokeAgentRequest {
        let hasSessionState =
            self.sessionAttributes != nil || self.promptSessionAttributes != nil
            || self.returnControlInvocationResults != nil
        return InvokeAgentRequest(
            inputText: self.inputText,
            enableTrace: metering || debug.asksForTraces(clientAsked: self.enableTrace) ? true : nil,
            endSession: self.endSession,
            memoryId: self.memoryId,
            sessionState: hasSessionState
                ? .init(
                    sessionAttributes: self.sessionAttributes,
                    promptSessionAttributes: self.promptSessionAttributes,
                    returnControlInvocationResults: self.returnControlInvocationResults,
                    invocationId: self.invocationId
                ) : nil,
            streamingConfigurations: .init(streamFinalResponse: self.streamFinalResponse)
        )
    }

    private static func check(_ value: String, _ field: String, _ rule: BedrockIdentifier) throws(RequestRefusal) {
        if let problem = rule.violation(in: value) {
            // The rule speaks of Bedrock's camelCase name; the client knows the field by ours.
            throw .invalidField(field, "is invalid: " + problem.replacingOccurrences(of: rule.field, with: field))
        }
    }
}
