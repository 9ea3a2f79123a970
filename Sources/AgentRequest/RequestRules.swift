/// The settings a request body is validated against, taken from the service's configuration once
/// (`ServiceConfiguration.requestRules`), so that validation needs nothing else and can be tested
/// and fuzzed alone.
public struct RequestRules: Sendable, Equatable {
    /// `MAX_INPUT_CHARS`: the longest `input_text`, in Unicode scalars.
    public var maxInputCharacters: Int
    /// `DEFAULT_AGENT_ALIAS_ID`: the alias of a request that names none.
    public var defaultAgentAliasId: String
    /// `ALLOWED_AGENT_IDS`: when set, the only Bedrock agents (and runtime names) that may be invoked.
    public var allowedAgentIds: Set<String>?
    /// `AGENTCORE_RUNTIMES` and `ALLOWED_AGENT_RUNTIME_ARNS`.
    public var agentCore: AgentCoreConfiguration
    /// `STREAM_FINAL_RESPONSE`: the default of a request's `stream_final_response`.
    public var streamFinalResponse: Bool
    /// `DEBUG_MODE`: whether a client's `enable_trace` asks Bedrock for traces.
    public var debug: DebugPolicy
    /// `USAGE_METERING`: traces are asked for on every call, to read their token usage.
    public var usageMetering: Bool

    public init(
        maxInputCharacters: Int,
        defaultAgentAliasId: String,
        allowedAgentIds: Set<String>?,
        agentCore: AgentCoreConfiguration,
        streamFinalResponse: Bool,
        debug: DebugPolicy,
        usageMetering: Bool
    ) {
        self.maxInputCharacters = maxInputCharacters
        self.defaultAgentAliasId = defaultAgentAliasId
        self.allowedAgentIds = allowedAgentIds
        self.agentCore = agentCore
        self.streamFinalResponse = streamFinalResponse
        self.debug = debug
        self.usageMetering = usageMetering
    }
}
