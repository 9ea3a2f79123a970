import BedrockAgentRuntime
import NIOCore

/// What a backend's answer carries, event by event, whatever its wire format: the stream turns
/// these into its output. Failures (exceptions, error frames) are not events: a backend reports
/// them as ``StreamFailure``s.
enum AgentEvent: Sendable {
    /// Answer bytes (plain UTF-8, possibly ending mid-character) and any citations.
    case chunk(bytes: [UInt8], citations: [JSONValue]?)
    /// A trace event's payload, as it came; checked to be JSON before it is forwarded.
    case trace(ByteBuffer)
    case returnControl(InvokeAgentEvent.ReturnControl)
    case files([InvokeAgentEvent.OutputFile])
    /// An event type this service does not know; skipped, so new Bedrock events do not break streams.
    /// Token usage a backend reports outside traces (an AgentCore Strands agent's `metadata`).
    case usage(TokenUsage)
    case unknown(eventType: String)
}
