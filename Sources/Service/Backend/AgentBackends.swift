import AgentRequest
import NIOCore

/// The backends the service has, each request sent to its own: an AgentCore Runtime's to
/// ``AgentCoreRuntimeBackend``, a Bedrock agent's to ``InvokeAgentBackend``.
struct AgentBackends: AgentBackend {
    let invokeAgent: any AgentBackend
    let agentCoreRuntime: any AgentBackend

    func send(
        _ request: StreamRequest,
        traceHeaders: [(String, String)],
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) async throws
        -> any AgentAttempt
    {
        let backend = request.runtime == nil ? self.invokeAgent : self.agentCoreRuntime
        return try await backend.send(request, traceHeaders: traceHeaders, on: eventLoop, stoppedBy: controller)
    }
}
