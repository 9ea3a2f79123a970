/// The JSON body of an InvokeAgent request, as the service model names its members. The path
/// carries the agent, alias and session ids (see ``InvokeAgentTarget``).
public struct InvokeAgentRequest: Codable, Hashable, Sendable {
    public var inputText: String?
    public var enableTrace: Bool?
    public var endSession: Bool?
    public var memoryId: String?
    public var sessionState: SessionState?
    public var streamingConfigurations: StreamingConfigurations?

    /// Session context, and the results of a returned-control invocation.
    public struct SessionState: Codable, Hashable, Sendable {
        public var sessionAttributes: [String: String]?
        public var promptSessionAttributes: [String: String]?
        /// One to five `apiResult` / `functionResult` unions, passed through as sent.
        public var returnControlInvocationResults: [JSONValue]?
        /// The `invocationId` of the `returnControl` event these results answer.
        public var invocationId: String?

        public init(
            sessionAttributes: [String: String]? = nil,
            promptSessionAttributes: [String: String]? = nil,
            returnControlInvocationResults: [JSONValue]? = nil,
            invocationId: String? = nil
        ) {
            self.sessionAttributes = sessionAttributes
            self.promptSessionAttributes = promptSessionAttributes
            self.returnControlInvocationResults = returnControlInvocationResults
            self.invocationId = invocationId
        }
    }

    /// Whether the final answer streams in pieces; without it Bedrock sends one chunk at the end.
    public struct StreamingConfigurations: Codable, Hashable, Sendable {
        public var streamFinalResponse: Bool?
        public var applyGuardrailInterval: Int?

        public init(streamFinalResponse: Bool? = nil, applyGuardrailInterval: Int? = nil) {
            self.streamFinalResponse = streamFinalResponse
            self.applyGuardrailInterval = applyGuardrailInterval
        }
    }

    public init(
        inputText: String? = nil,
        enableTrace: Bool? = nil,
        endSession: Bool? = nil,
        memoryId: String? = nil,
        sessionState: SessionState? = nil,
        streamingConfigurations: StreamingConfigurations? = nil
    ) {
        self.inputText = inputText
        self.enableTrace = enableTrace
        self.endSession = endSession
        self.memoryId = memoryId
        self.sessionState = sessionState
        self.streamingConfigurations = streamingConfigurations
    }

    /// What the service model forbids in this body, or `nil`: memory id format, one to five
    /// invocation results, a guardrail interval of at least 1.
    public var violation: String? {
        if let memoryId, let problem = BedrockIdentifier.memoryId.violation(in: memoryId) {
            return problem
        }
        if let results = self.sessionState?.returnControlInvocationResults, !(1...5).contains(results.count) {
            return "sessionState.returnControlInvocationResults must hold 1 to 5 results, got \(results.count)"
        }
        if let interval = self.streamingConfigurations?.applyGuardrailInterval, interval < 1 {
            return "streamingConfigurations.applyGuardrailInterval must be at least 1, got \(interval)"
        }
        return nil
    }
}
