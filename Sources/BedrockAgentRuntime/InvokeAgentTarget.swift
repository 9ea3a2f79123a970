import AWSAccess

/// The agent, alias and session an InvokeAgent call addresses: the path parameters of
/// `POST /agents/{agentId}/agentAliases/{agentAliasId}/sessions/{sessionId}/text`.
public struct InvokeAgentTarget: Hashable, Sendable {
    public var agentId: String
    public var agentAliasId: String
    public var sessionId: String

    public init(agentId: String, agentAliasId: String, sessionId: String) {
        self.agentId = agentId
        self.agentAliasId = agentAliasId
        self.sessionId = sessionId
    }

    /// The first rule of the service model that the ids break, or `nil`.
    public var violation: String? {
        BedrockIdentifier.agentId.violation(in: self.agentId)
            ?? BedrockIdentifier.agentAliasId.violation(in: self.agentAliasId)
            ?? BedrockIdentifier.sessionId.violation(in: self.sessionId)
    }

    /// The request path, each id percent-encoded as a path segment (RFC 3986 unreserved characters
    /// stay as they are, so a session id `a:b.c` travels as `a%3Ab.c`).
    public var path: String {
        "/agents/\(PercentEncoding.encode(self.agentId))/agentAliases/\(PercentEncoding.encode(self.agentAliasId))"
            + "/sessions/\(PercentEncoding.encode(self.sessionId))/text"
    }
}
