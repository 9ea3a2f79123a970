import AWSAccess
import AgentRequest
import BedrockAgentRuntime
import NIOCore

/// Bedrock Agents' InvokeAgent as a backend: a call signed for service `bedrock`
/// (``SignedUpstreamCall``), and the answer's event-stream frames as agent events
/// (``InvokeAgentAttempt``).
struct InvokeAgentBackend: AgentBackend {
    let call: SignedUpstreamCall
    /// The Bedrock Agent Runtime base URL, without a trailing slash.
    let endpoint: String

    func send(
        _ request: StreamRequest,
        traceHeaders: [(String, String)],
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) async throws
        -> any AgentAttempt
    {
        // InvokeAgent's API takes no trace context (`traceHeaders`): the agent's steps come back
        // as trace events instead (AgentStepSpans).
        let call = try await self.call.start(
            url: self.endpoint + request.bedrockTarget.path,
            headers: [("Content-Type", "application/json"), ("Accept", "application/vnd.amazon.eventstream")],
            body: request.upstreamBody,
            on: eventLoop,
            stoppedBy: controller,
            operation: "InvokeAgent"
        )
        return InvokeAgentAttempt(call: call)
    }
}
