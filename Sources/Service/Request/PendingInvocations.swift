import AgentRequest
import BedrockAgentRuntime
import Synchronization

/// What this task knows of the return-of-control invocations of the sessions it streamed, so that
/// tool outputs for an invocation it knows to be stale are refused with a 400 naming it, before
/// Bedrock is called.
///
/// A session's invocation is *pending* once the agent asked for it (a `returnControl` event went
/// out), *answered* once a request carrying its results got the agent's first event back (a
/// request Bedrock refused, or that failed before it answered, leaves it pending, so a retry
/// works), and *superseded* once the agent asked for another invocation in the same session.
///
/// Tasks share nothing, and a load balancer sends a chat's requests to any task: an invocation
/// this task never saw may be one another task asked for, so it goes on to Bedrock, which refuses
/// it if it is stale (an `error` part, or the NDJSON `error` line). Only what this task saw is
/// refused, and forgetting (a restart, a session pushed out by newer ones) only ever lets a
/// request through to Bedrock; it never refuses one.
final class PendingInvocations: Sendable {
    /// What is known of an invocation id in a session.
    enum Verdict: Equatable, Sendable {
        /// Never seen here (or forgotten): Bedrock decides.
        case unknown
        /// The agent waits for it; `tools` names each input's tool, in order.
        case pending(tools: [String])
        /// Its results were already taken.
        case answered
        /// The agent has asked for `newer` since.
        case superseded(by: String)
    }

    /// A tool output sent for an invocation input, as ``ChatRequest`` read it.
    typealias ToolOutput = ChatRequest.ToolOutput

    private struct Session {
        var pending: (id: String, tools: [String])?
        /// Closed ids, newest last, at most ``closedPerSession``.
        var closed: [(id: String, verdict: Verdict)] = []

        mutating func close(_ id: String, _ verdict: Verdict) {
            self.closed.removeAll { $0.id == id }
            self.closed.append((id, verdict))
            if self.closed.count > PendingInvocations.closedPerSession { self.closed.removeFirst() }
        }
    }

    private struct State {
        var current: [InvokeAgentTarget: Session] = [:]
        var previous: [InvokeAgentTarget: Session] = [:]
    }

    /// Sessions remembered: up to `capacity` recent ones and as many older ones, which the next
    /// turn of generations forgets.
    let capacity: Int
    static let closedPerSession = 4
    private let state = Mutex(State())

    init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// What is known of `invocationId` in the session of `target` (Bedrock's agent, alias and session).
    func verdict(_ target: InvokeAgentTarget, invocationId: String) -> Verdict {
        self.state.withLock { state in
            guard let session = state.current[target] ?? state.previous[target] else { return .unknown }
            if let pending = session.pending, pending.id == invocationId { return .pending(tools: pending.tools) }
            return session.closed.last { $0.id == invocationId }?.verdict ?? .unknown
        }
    }

    /// The agent asked for `invocationId`, with one tool per input.
    func asked(_ target: InvokeAgentTarget, invocationId: String, tools: [String]) {
        self.update(target) { session in
            if let earlier = session.pending, earlier.id != invocationId {
                session.close(earlier.id, .superseded(by: invocationId))
            }
            session.closed.removeAll { $0.id == invocationId }
            session.pending = (invocationId, tools)
        }
    }

    /// Bedrock took the results for `invocationId` (the agent's answer began).
    func answered(_ target: InvokeAgentTarget, invocationId: String) {
        self.update(target) { session in
            if session.pending?.id == invocationId { session.pending = nil }
            session.close(invocationId, .answered)
        }
    }

    /// The field a refusal names: the NDJSON contract's `invocation_id`, or the chat's `messages`.
    enum Field: String, Sendable {
        case invocationId = "invocation_id"
        case messages

        /// How the refusal's sentence goes on from the field's name.
        var verb: String {
            switch self {
            case .invocationId: "names"
            case .messages: "answer"
            }
        }
    }

    /// Refuses `request` when it answers an invocation this task knows to be stale, or, with the
    /// chat's `outputs`, when they do not answer each input of the pending one exactly once under
    /// its tool's name.
    func check(_ request: StreamRequest, outputs: [ToolOutput]?, field: Field) throws(APIError) {
        guard let invocationId = request.invocationId else { return }
        let stale = "\(field.verb) the invocation '\(invocationId)', which is stale"
        switch self.verdict(request.bedrockTarget, invocationId: invocationId) {
        case .unknown:
            return
        case .answered:
            throw .invalidField(field.rawValue, "\(stale): its results were already sent, and the agent no longer waits for them")
        case .superseded(let newer):
            throw .invalidField(field.rawValue, "\(stale): the agent has asked for '\(newer)' since")
        case .pending(let tools):
            guard let outputs else { return }
            try Self.check(outputs, against: tools, invocationId: invocationId, field: field.rawValue)
        }
    }

    private static func check(_ outputs: [ToolOutput], against tools: [String], invocationId: String, field: String) throws(APIError) {
        var answered = Set<Int>()
        for output in outputs {
            guard tools.indices.contains(output.index) else {
                throw .invalidField(
                    field,
                    "hold a tool call '\(output.toolCallId)' the agent did not ask for (the invocation '\(invocationId)' has \(tools.count) inputs)"
                )
            }
            guard tools[output.index] == output.toolName else {
                throw .invalidField(
                    field,
                    "hold the tool call '\(output.toolCallId)' as '\(output.toolName)', but the agent asked for '\(tools[output.index])'"
                )
            }
            answered.insert(output.index)
        }
        if let missing = tools.indices.first(where: { !answered.contains($0) }) {
            let callId = UIMessageStreamOutput.toolCallId(invocationId: invocationId, index: missing)
            throw .invalidField(field, "lack the output of the tool call '\(callId)' ('\(tools[missing])')")
        }
    }

    private func update(_ target: InvokeAgentTarget, _ change: (inout Session) -> Void) {
        self.state.withLock { state in
            var session = state.current.removeValue(forKey: target) ?? state.previous.removeValue(forKey: target) ?? Session()
            change(&session)
            if state.current.count >= self.capacity {
                state.previous = state.current
                state.current = [:]
            }
            state.current[target] = session
        }
    }
}
