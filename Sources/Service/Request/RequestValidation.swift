import AgentRequest
import Authentication
import BedrockAgentRuntime
import NIOCore

/// The request bodies of the service's routes, validated by the `AgentRequest` library under the
/// configuration's ``RequestRules``; its refusals become the API's errors.
extension StreamRequest {
    /// Parses and validates a `POST /api/agent/stream` body, sent by `principal` (`nil` with `AUTH_MODE=none`).
    init(parsing body: ByteBuffer, configuration: ServiceConfiguration, principal: Principal? = nil) throws(APIError) {
        do {
            try self.init(body: body, rules: configuration.requestRules, principal: principal)
        } catch {
            throw APIError(error)
        }
    }

    /// Validates the fields of a body already parsed (`/api/chat`'s, translated by ``ChatRequest``).
    init(fields: [String: JSONValue], configuration: ServiceConfiguration, principal: Principal? = nil) throws(APIError) {
        do {
            try self.init(fields: fields, rules: configuration.requestRules, principal: principal)
        } catch {
            throw APIError(error)
        }
    }
}

extension ChatRequest {
    /// Reads a `POST /api/chat` body; `defaultAgentId` serves one without `agent_id`.
    init(parsing body: ByteBuffer, defaultAgentId: String?) throws(APIError) {
        do {
            try self.init(body: body, defaultAgentId: defaultAgentId)
        } catch {
            throw APIError(error)
        }
    }
}

extension APIError {
    /// A refusal of the request body as the API answers it.
    init(_ refusal: RequestRefusal) {
        switch refusal {
        case .invalidJSON(let detail): self = .invalidJSON(detail)
        case .invalidField(let field, let problem): self = .invalidField(field, problem)
        case .agentNotAllowed: self = .agentNotAllowed
        }
    }
}
