/// What `DEBUG_MODE` allows, decided once from the configuration and handed to the parts that ask:
/// the request (whether Bedrock is asked for traces), the stream (whether traces are forwarded)
/// and the stream's log (whether prompts and answers are written).
public struct DebugPolicy: Sendable, Equatable {
    /// `DEBUG_MODE`.
    public let enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Whether Bedrock is asked for traces: the client asked (`enable_trace`) and debug mode is on.
    public func asksForTraces(clientAsked: Bool) -> Bool { self.enabled && clientAsked }

    /// Whether trace events are forwarded to the client.
    public var forwardsTraces: Bool { self.enabled }

    /// Whether prompts and answers are logged; outside debug mode no request body or answer is.
    public var logsConversation: Bool { self.enabled }
}
