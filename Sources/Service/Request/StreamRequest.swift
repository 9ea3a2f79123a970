import Authentication
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat

/// A validated `POST /api/agent/stream` body. Field names are the original API's snake_case; each
/// problem is refused with a message naming the field.
struct StreamRequest: Sendable, Equatable {
    /// `nil` only when invocation results are sent back, which Bedrock answers without a prompt.
    var inputText: String?
    /// The agent, alias and session as the client named them (its lines show these).
    var target: InvokeAgentTarget
    /// The session id sent to Bedrock: the client's, or with a principal, one derived from both
    /// (``SessionScope``).
    var bedrockSessionId: String
    var sessionAttributes: [String: String]?
    var promptSessionAttributes: [String: String]?
    var endSession: Bool?
    var memoryId: String?
    /// What the client asked for; traces are requested from Bedrock only in debug mode.
    var enableTrace: Bool
    var returnControlInvocationResults: [JSONValue]?
    var invocationId: String?
    var streamFinalResponse: Bool
    /// The InvokeAgent body, as ``invokeAgentRequest(debug:)`` encodes it under the service's debug policy.
    var invokeAgentBody = ByteBuffer()

    /// Parses and validates `body`, sent by `principal` (`nil` with `AUTH_MODE=none`).
    init(parsing body: ByteBuffer, configuration: ServiceConfiguration, principal: Principal? = nil) throws(APIError) {
        try self.init(fields: Self.jsonObject(body), configuration: configuration, principal: principal)
    }

    /// Validates the fields of a body already parsed (`/api/chat`'s, translated by ``ChatRequest``).
    init(fields: [String: JSONValue], configuration: ServiceConfiguration, principal: Principal? = nil) throws(APIError) {
        let reader = FieldReader(fields: fields)

        self.returnControlInvocationResults = try reader.objects("return_control_invocation_results", count: 1...5)
        self.invocationId = try reader.string("invocation_id")
        if self.returnControlInvocationResults != nil && self.invocationId?.isEmpty != false {
            throw .invalidField("invocation_id", "is required with return_control_invocation_results")
        }
        if self.invocationId != nil && self.returnControlInvocationResults == nil {
            throw .invalidField("return_control_invocation_results", "is required with invocation_id")
        }

        self.inputText = try reader.string("input_text")
        if let inputText {
            let length = inputText.unicodeScalars.count
            guard !inputText.allSatisfy(\.isWhitespace) else {
                throw .invalidField("input_text", "must not be empty")
            }
            guard length <= configuration.maxInputCharacters else {
                throw .invalidField("input_text", "must be at most \(configuration.maxInputCharacters) characters, got \(length)")
            }
        } else if self.returnControlInvocationResults == nil {
            throw .invalidField("input_text", "is required")
        }

        guard let agentId = try reader.string("agent_id") else {
            throw .invalidField("agent_id", "is required")
        }
        self.target = InvokeAgentTarget(
            agentId: agentId,
            agentAliasId: try reader.string("agent_alias_id") ?? configuration.defaultAgentAliasId,
            sessionId: try reader.string("session_id") ?? UUID.systemRandom().uuidString.lowercased()
        )
        try Self.check(self.target.agentId, "agent_id", .agentId)
        try Self.check(self.target.agentAliasId, "agent_alias_id", .agentAliasId)
        try Self.check(self.target.sessionId, "session_id", .sessionId)
        self.bedrockSessionId = self.target.sessionId

        self.sessionAttributes = try reader.stringMap("session_attributes")
        self.promptSessionAttributes = try reader.stringMap("prompt_session_attributes")
        self.endSession = try reader.boolean("end_session")
        self.memoryId = try reader.string("memory_id")
        if let memoryId { try Self.check(memoryId, "memory_id", .memoryId) }
        self.enableTrace = try reader.boolean("enable_trace") ?? false
        self.streamFinalResponse = try reader.boolean("stream_final_response") ?? configuration.streamFinalResponse
        // A valid request for an agent this API may not invoke: 403, after every 400.
        if let allowed = configuration.allowedAgentIds, !allowed.contains(self.target.agentId) {
            throw .agentNotAllowed
        }
        if let principal {
            if let agents = principal.agents, !agents.contains(self.target.agentId) {
                throw .agentNotAllowed
            }
            self.scope(to: principal)
        }
        // Encoded once, here: what cannot be sent to Bedrock is refused before the stream starts,
        // and every attempt signs the same bytes. The error names no value (they hold the prompt).
        do {
            let json = try JSONEncoder().encode(self.invokeAgentRequest(debug: configuration.debug))
            self.invokeAgentBody = ByteBuffer(data: json)
        } catch {
            throw .invalidField("the request", "cannot be encoded for Bedrock")
        }
    }

    /// A request body as a JSON object, read by the strict parser; the errors every route answers.
    static func jsonObject(_ body: ByteBuffer) throws(APIError) -> [String: JSONValue] {
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
    var bedrockTarget: InvokeAgentTarget {
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

    /// The InvokeAgent body for this request; traces are asked for only when `debug` allows.
    func invokeAgentRequest(debug: DebugPolicy) -> InvokeAgentRequest {
        let hasSessionState =
            self.sessionAttributes != nil || self.promptSessionAttributes != nil
            || self.returnControlInvocationResults != nil
        return InvokeAgentRequest(
            inputText: self.inputText,
            enableTrace: debug.asksForTraces(clientAsked: self.enableTrace) ? true : nil,
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

    private static func check(_ value: String, _ field: String, _ rule: BedrockIdentifier) throws(APIError) {
        if let problem = rule.violation(in: value) {
            // The rule speaks of Bedrock's camelCase name; the client knows the field by ours.
            throw .invalidField(field, "is invalid: " + problem.replacingOccurrences(of: rule.field, with: field))
        }
    }
}

/// Typed reads of the body's fields; `null` counts as absent.
private struct FieldReader {
    let fields: [String: JSONValue]

    func string(_ name: String) throws(APIError) -> String? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidField(name, "must be a string")
        }
    }

    func boolean(_ name: String) throws(APIError) -> Bool? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw .invalidField(name, "must be true or false")
        }
    }

    func stringMap(_ name: String) throws(APIError) -> [String: String]? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .object(let members)?:
            var map: [String: String] = [:]
            for (key, value) in members {
                guard case .string(let text) = value else {
                    throw .invalidField(name, "must map names to strings; '\(key)' is not a string")
                }
                map[key] = text
            }
            return map
        default: throw .invalidField(name, "must be an object of strings")
        }
    }

    func objects(_ name: String, count: ClosedRange<Int>) throws(APIError) -> [JSONValue]? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .array(let items)?:
            guard count.contains(items.count) else {
                throw .invalidField(name, "must hold \(count.lowerBound) to \(count.upperBound) results, got \(items.count)")
            }
            guard items.allSatisfy({ if case .object = $0 { true } else { false } }) else {
                throw .invalidField(name, "must be a list of objects")
            }
            return items
        default: throw .invalidField(name, "must be a list of objects")
        }
    }
}
