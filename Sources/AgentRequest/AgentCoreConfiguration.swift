/// The AgentCore Runtimes the service invokes: `AGENTCORE_RUNTIMES` gives frontends names for them
/// (`name=arn[:qualifier],...`), so that they send `agent_id: name` and need no ARN;
/// `ALLOWED_AGENT_RUNTIME_ARNS` limits which runtimes may be invoked at all, as
/// `ALLOWED_AGENT_IDS` does for Bedrock agents. The service reads both from its environment.
public struct AgentCoreConfiguration: Sendable, Equatable {
    /// A runtime and its endpoint (the runtime's default endpoint when `qualifier` is `nil`).
    public struct Runtime: Sendable, Equatable {
        public var arn: String
        public var qualifier: String?

        public init(arn: String, qualifier: String? = nil) {
            self.arn = arn
            self.qualifier = qualifier
        }
    }

    /// The runtimes by the names frontends use.
    public var runtimes: [String: Runtime]
    /// When set, the only runtime ARNs that may be invoked.
    public var allowedArns: Set<String>?

    public init(runtimes: [String: Runtime] = [:], allowedArns: Set<String>? = nil) {
        self.runtimes = runtimes
        self.allowedArns = allowedArns
    }

    /// Whether a request may invoke `arn`: one `ALLOWED_AGENT_RUNTIME_ARNS` holds; without it, a
    /// named runtime when `ALLOWED_AGENT_IDS` restricts the agents (a deployment that limits what
    /// it invokes does not take any ARN a client sends), else any.
    public func allows(arn: String, allowedAgentIds: Set<String>?) -> Bool {
        if let allowedArns { return allowedArns.contains(arn) }
        if allowedAgentIds != nil { return self.runtimes.values.contains { $0.arn == arn } }
        return true
    }
}
