import AgentRequest
import BedrockAgentCore
import NIOCore

/// AgentCore Runtime's InvokeAgentRuntime as a backend: a call signed for service
/// `bedrock-agentcore` (``SignedUpstreamCall``) to the runtime's URL with the runtime session
/// header, its payload as the body, and the container's answer read by its content type
/// (``AgentCoreRuntimeAttempt``).
struct AgentCoreRuntimeBackend: AgentBackend {
    let call: SignedUpstreamCall
    /// The Bedrock AgentCore base URL, without a trailing slash.
    let endpoint: String

    func send(
        _ request: StreamRequest,
        traceHeaders: [(String, String)],
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) async throws
        -> any AgentAttempt
    {
        guard let runtime = request.runtime else {
            throw StreamFailure(.internalError, detail: "a Bedrock agent's request reached the AgentCore backend")
        }
        let call = try await self.call.start(
            url: self.endpoint + runtime.path,
            // InvokeAgentRuntime takes the W3C trace context: the runtime's spans join the trace.
            headers: [
                ("Content-Type", "application/json"),
                ("Accept", "text/event-stream, application/json"),
                (AgentRuntimeTarget.sessionHeader, runtime.sessionId),
            ] + traceHeaders.filter { $0.0 == "traceparent" || ($0.0 == "tracestate" && $0.1.utf8.count <= 512) },
            body: request.upstreamBody,
            on: eventLoop,
            stoppedBy: controller,
            operation: "InvokeAgentRuntime"
        )
        return AgentCoreRuntimeAttempt(call: call)
    }
}
