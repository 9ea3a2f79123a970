/// What `DEBUG_MODE` allows, decided once from the configuration and handed to the parts that ask:
/// the request (whether Bedrock is asked for traces), the stream (whether traces are forwarded)
/// and the stream's log (whether prompts and answers are written).
struct DebugPolicy: Sendable, Equatable {
    /// `DEBUG_MODE`.
    let enabled: Bool

    /// Whether Bedrock is asked for traces: the client asked (`enable_trace`) and debug mode is on.
    func asksForTraces(clientAsked: Bool) -> Bool { self.enabled && clientAsked }

    /// Whether trace events are forwarded to the client.
    var forwardsTraces: Bool { self.enabled }

    /// Whether prompts and answers are logged; outside debug mode no request body or answer is.
    var logsConversation: Bool { self.enabled }
}
