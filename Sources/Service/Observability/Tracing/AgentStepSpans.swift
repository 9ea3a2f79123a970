import BedrockAgentRuntime
import Foundation
import NIOCore
import Tracing

/// The agent's own steps as spans, made from the trace events Bedrock sends while it answers
/// (`trace.orchestrationTrace`, `preProcessingTrace`, `postProcessingTrace`,
/// `routingClassifierTrace`, `guardrailTrace`, `failureTrace`), under the span of the attempt
/// that carried them:
///
/// - a **step** per trace id of an agent (`orchestration`, `pre-processing`, …), from its first
///   event to its observation (or to the agent's next step, or the end of the answer);
/// - in a step: a **model invocation** (`chat <model>`, with its tokens), timed by its
///   `metadata.startTime` / `endTime`; an **action-group call** (`execute_tool <function>`), a
///   **knowledge-base lookup** (`retrieve <id>`) or a **code interpreter** run, from its
///   invocation input to its observation; a **collaborator** (`invoke_agent <name>`), whose own
///   steps (its events' `callerChain` ends with its alias) are its children;
/// - a **guardrail** assessment and a **failure** under the agent they belong to.
///
/// Spans carry the ids, names, models, tokens and timings; prompt, rationale, tool input and
/// answer text only when ``recordsContent`` (`DEBUG_MODE`). At most ``maxSpans`` spans a stream.
final class AgentStepSpans {
    /// Spans made for one stream at most; events past it make none (a long answer stays cheap).
    static let maxSpans = 1_000
    /// Characters of a text attribute at most, in debug mode.
    static let maxTextLength = 4_096

    private let tracer: any Tracer
    /// The span the agent's top-level steps go under: the attempt's.
    private let root: ServiceContext
    private let recordsContent: Bool
    private(set) var spans = 0

    /// What is open for one agent of the answer (the supervisor, or a collaborator), by its alias ARN.
    private struct Agent {
        /// Where its steps go: the attempt (the agent invoked) or its collaborator span.
        var parent: ServiceContext
        var step: Step?
        /// The model its last `modelInvocationInput` named.
        var model: String?
        var prompt: String?
    }

    private struct Step {
        var span: any Span
        var traceId: String
        var last: DefaultTracerClock.Timestamp
    }

    /// An action-group call, lookup or code run between its input and its observation.
    private struct PendingCall {
        var name: String
        var started: DefaultTracerClock.Timestamp
        var attributes: SpanAttributes
    }

    private var agents: [String: Agent] = [:]
    private var calls: [String: PendingCall] = [:]
    private var collaborators: [String: any Span] = [:]

    init(tracer: any Tracer, root: ServiceContext, recordsContent: Bool) {
        self.tracer = tracer
        self.root = root
        self.recordsContent = recordsContent
    }

    /// Reads one trace event's payload; a payload that is not a Bedrock trace makes no span.
    func record(tracePayload payload: ByteBuffer) {
        guard self.isUnderLimit,
            let event = try? payload.withUnsafeReadableBytes({ bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) })
        else { return }
        self.record(event)
    }

    func record(_ event: JSONValue) {
        guard self.isUnderLimit, case .object(let trace)? = event["trace"] else { return }
        let time = event["eventTime"]?.stringValue.flatMap(TraceTimestamp.parse) ?? DefaultTracerClock.now
        let agentKey = event["callerChain"]?.arrayValue?.last?["agentAliasArn"]?.stringValue ?? event["agentId"]?.stringValue ?? ""
        for (kind, part) in trace {
            switch kind {
            case "orchestrationTrace": self.step(part, name: "orchestration", agent: agentKey, at: time)
            case "preProcessingTrace": self.step(part, name: "pre-processing", agent: agentKey, at: time)
            case "postProcessingTrace": self.step(part, name: "post-processing", agent: agentKey, at: time)
            case "routingClassifierTrace": self.step(part, name: "routing classifier", agent: agentKey, at: time)
            case "guardrailTrace": self.guardrail(part, agent: agentKey, at: time)
            case "failureTrace": self.failure(part, agent: agentKey, at: time)
            default: continue
            }
        }
    }

    /// Ends whatever is still open, at `instant` (the end of the answer).
    func finish(at instant: DefaultTracerClock.Timestamp = DefaultTracerClock.now) {
        for (_, call) in self.calls {
            var attributes = call.attributes
            attributes["aws.bedrock.observation"] = "missing"
            self.completedSpan(call.name, parent: self.root, from: call.started, to: instant, attributes: attributes)
        }
        self.calls.removeAll()
        for key in self.agents.keys {
            self.endStep(of: key)
        }
        for (_, span) in self.collaborators {
            span.end(at: instant)
        }
        self.collaborators.removeAll()
    }

    // MARK: Steps

    private func step(_ part: JSONValue, name: String, agent key: String, at time: DefaultTracerClock.Timestamp) {
        guard case .object(let fields) = part else { return }
        let traceId = fields.values.lazy.compactMap { $0["traceId"]?.stringValue }.first ?? ""
        let step = self.openStep(name, traceId: traceId, agent: key, at: time)
        if let input = part["modelInvocationInput"] {
            // Read before the write: the entry may not be read while it is being changed.
            let model = input["foundationModel"]?.stringValue ?? self.agents[key]?.model
            self.agents[key]?.model = model
            self.agents[key]?.prompt = self.recordsContent ? input["text"]?.stringValue : nil
        }
        if let output = part["modelInvocationOutput"] {
            self.modelInvocation(output, agent: key, traceId: traceId, parent: step, at: time)
        }
        if let rationale = part["rationale"]?["text"]?.stringValue, self.recordsContent, let span = self.agents[key]?.step?.span {
            span.attributes["aws.bedrock.rationale"] = Self.truncated(rationale)
        }
        if let input = part["invocationInput"] {
            self.invocationInput(input, traceId: traceId, parent: step, at: time)
        }
        if let observation = part["observation"] {
            self.observation(observation, traceId: traceId, parent: step, at: time)
            // An observation completes its step.
            self.endStep(of: key)
        }
    }

    /// The agent's step for `traceId`: its open one, or a new one (ending the one before).
    private func openStep(_ name: String, traceId: String, agent key: String, at time: DefaultTracerClock.Timestamp) -> ServiceContext {
        var agent = self.agents[key] ?? Agent(parent: self.root)
        if var step = agent.step, step.traceId == traceId {
            step.last = max(step.last, time)
            agent.step = step
            self.agents[key] = agent
            return step.span.context
        }
        if let step = agent.step {
            step.span.end(at: step.last)
            agent.step = nil
        }
        guard let span = self.startSpan(name, parent: agent.parent, at: time) else {
            self.agents[key] = agent
            return agent.parent
        }
        span.attributes["aws.bedrock.trace_id"] = traceId
        span.attributes["aws.bedrock.agent.alias_arn"] = key.isEmpty ? nil : key
        agent.step = Step(span: span, traceId: traceId, last: time)
        self.agents[key] = agent
        return span.context
    }

    private func endStep(of key: String) {
        guard let step = self.agents[key]?.step else { return }
        step.span.end(at: step.last)
        self.agents[key]?.step = nil
    }

    private func modelInvocation(
        _ output: JSONValue,
        agent key: String,
        traceId: String,
        parent: ServiceContext,
        at time: DefaultTracerClock.Timestamp
    ) {
        let metadata = output["metadata"]
        let model = self.agents[key]?.model
        var attributes = SpanAttributes()
        attributes["gen_ai.operation.name"] = "chat"
        attributes["gen_ai.system"] = "aws.bedrock"
        attributes["gen_ai.request.model"] = model
        attributes["aws.bedrock.trace_id"] = traceId
        attributes["gen_ai.usage.input_tokens"] = Self.count(metadata?["usage"]?["inputTokens"])
        attributes["gen_ai.usage.output_tokens"] = Self.count(metadata?["usage"]?["outputTokens"])
        if self.recordsContent {
            attributes["gen_ai.prompt"] = self.agents[key]?.prompt.map(Self.truncated)
            attributes["gen_ai.completion"] = output["rawResponse"]?["content"]?.stringValue.map(Self.truncated)
        }
        self.agents[key]?.prompt = nil
        let (start, end) = Self.interval(metadata, at: time)
        self.completedSpan(model.map { "chat \($0)" } ?? "chat", parent: parent, from: start, to: end, attributes: attributes)
    }

    // MARK: Calls and collaborators

    private func invocationInput(_ input: JSONValue, traceId: String, parent: ServiceContext, at time: DefaultTracerClock.Timestamp) {
        var attributes = SpanAttributes()
        attributes["aws.bedrock.trace_id"] = traceId
        if let actionGroup = input["actionGroupInvocationInput"] {
            let tool = actionGroup["function"]?.stringValue ?? actionGroup["apiPath"]?.stringValue ?? "action_group"
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = tool
            attributes["gen_ai.tool.type"] = "function"
            attributes["aws.bedrock.action_group.name"] = actionGroup["actionGroupName"]?.stringValue
            attributes["aws.bedrock.action_group.api_path"] = actionGroup["apiPath"]?.stringValue
            attributes["aws.bedrock.action_group.verb"] = actionGroup["verb"]?.stringValue
            attributes["aws.bedrock.action_group.execution_type"] = actionGroup["executionType"]?.stringValue
            if self.recordsContent, let parameters = actionGroup["parameters"] {
                attributes["gen_ai.tool.call.arguments"] = Self.truncated(Self.json(parameters))
            }
            self.calls[traceId] = PendingCall(name: "execute_tool \(tool)", started: time, attributes: attributes)
        } else if let lookup = input["knowledgeBaseLookupInput"] {
            let id = lookup["knowledgeBaseId"]?.stringValue ?? "knowledge_base"
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = id
            attributes["gen_ai.tool.type"] = "datastore"
            attributes["aws.bedrock.knowledge_base.id"] = id
            if self.recordsContent { attributes["aws.bedrock.knowledge_base.query"] = lookup["text"]?.stringValue.map(Self.truncated) }
            self.calls[traceId] = PendingCall(name: "retrieve \(id)", started: time, attributes: attributes)
        } else if let code = input["codeInterpreterInvocationInput"] {
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = "code_interpreter"
            attributes["gen_ai.tool.type"] = "extension"
            if self.recordsContent { attributes["aws.bedrock.code"] = code["code"]?.stringValue.map(Self.truncated) }
            self.calls[traceId] = PendingCall(name: "execute_tool code_interpreter", started: time, attributes: attributes)
        } else if let collaborator = input["agentCollaboratorInvocationInput"] {
            let name = collaborator["agentCollaboratorName"]?.stringValue ?? "collaborator"
            guard let arn = collaborator["agentCollaboratorAliasArn"]?.stringValue,
                let span = self.startSpan("invoke_agent \(name)", parent: parent, at: time)
            else { return }
            span.attributes["gen_ai.operation.name"] = "invoke_agent"
            span.attributes["gen_ai.system"] = "aws.bedrock"
            span.attributes["gen_ai.agent.name"] = name
            span.attributes["gen_ai.agent.id"] = Self.agentId(aliasArn: arn)
            span.attributes["aws.bedrock.agent.alias_arn"] = arn
            span.attributes["aws.bedrock.trace_id"] = traceId
            if self.recordsContent {
                span.attributes["aws.bedrock.collaborator.input"] = collaborator["input"]?["text"]?.stringValue.map(Self.truncated)
            }
            self.collaborators[arn]?.end(at: time)
            self.collaborators[arn] = span
            // The collaborator's own events name it last in their caller chain.
            self.endStep(of: arn)
            self.agents[arn] = Agent(parent: span.context)
        }
    }

    private func observation(_ observation: JSONValue, traceId: String, parent: ServiceContext, at time: DefaultTracerClock.Timestamp) {
        if let collaborator = observation["agentCollaboratorInvocationOutput"] {
            guard let arn = collaborator["agentCollaboratorAliasArn"]?.stringValue, let span = self.collaborators.removeValue(forKey: arn)
            else { return }
            self.endStep(of: arn)
            self.agents[arn] = nil
            if self.recordsContent {
                span.attributes["aws.bedrock.collaborator.output"] = collaborator["output"]?["text"]?.stringValue.map(Self.truncated)
            }
            if let total = Self.count(collaborator["metadata"]?["totalTimeMs"]) { span.attributes["aws.bedrock.total_time_ms"] = total }
            span.end(at: collaborator["metadata"]?["endTime"]?.stringValue.flatMap(TraceTimestamp.parse) ?? time)
            return
        }
        let output =
            observation["actionGroupInvocationOutput"] ?? observation["knowledgeBaseLookupOutput"] ?? observation["codeInterpreterInvocationOutput"]
        guard let output, let call = self.calls.removeValue(forKey: traceId) else { return }
        var attributes = call.attributes
        if let references = output["retrievedReferences"]?.arrayValue {
            attributes["aws.bedrock.knowledge_base.references"] = references.count
        }
        if self.recordsContent {
            attributes["gen_ai.tool.call.result"] = (output["text"]?.stringValue ?? output["executionOutput"]?.stringValue).map(Self.truncated)
        }
        let (start, end) = Self.interval(output["metadata"], at: time)
        self.completedSpan(call.name, parent: parent, from: min(start, call.started), to: end, attributes: attributes)
    }

    // MARK: Guardrails and failures

    private func guardrail(_ part: JSONValue, agent key: String, at time: DefaultTracerClock.Timestamp) {
        var attributes = SpanAttributes()
        attributes["aws.bedrock.guardrail.action"] = part["action"]?.stringValue
        attributes["aws.bedrock.trace_id"] = part["traceId"]?.stringValue
        let (start, end) = Self.interval(part["metadata"], at: time)
        self.completedSpan("guardrail", parent: self.agents[key]?.parent ?? self.root, from: start, to: end, attributes: attributes)
    }

    private func failure(_ part: JSONValue, agent key: String, at time: DefaultTracerClock.Timestamp) {
        let parent = self.agents[key]?.step?.span.context ?? self.agents[key]?.parent ?? self.root
        guard let span = self.startSpan("failure", parent: parent, at: time) else { return }
        span.attributes["aws.bedrock.trace_id"] = part["traceId"]?.stringValue
        span.attributes["error.type"] = part["failureCode"].flatMap { value -> String? in
            if case .number = value { return Self.count(value).map(String.init) }
            return value.stringValue
        }
        let reason = part["failureReason"]?.stringValue ?? "failure"
        span.setStatus(SpanStatus(code: .error, message: Self.truncated(reason)))
        span.end(at: time)
        self.endStep(of: key)
    }

    // MARK: Helpers

    /// Spans made and calls waiting for their observation (each a span to come) stay under
    /// ``maxSpans``: past it an event changes nothing, so no table grows.
    private var isUnderLimit: Bool { self.spans + self.calls.count < Self.maxSpans }

    private func startSpan(_ name: String, parent: ServiceContext, at time: DefaultTracerClock.Timestamp) -> (any Span)? {
        guard self.spans < Self.maxSpans else { return nil }
        self.spans += 1
        return self.tracer.startSpan(name, context: parent, ofKind: .internal, at: time)
    }

    private func completedSpan(
        _ name: String,
        parent: ServiceContext,
        from start: DefaultTracerClock.Timestamp,
        to end: DefaultTracerClock.Timestamp,
        attributes: SpanAttributes
    ) {
        guard let span = self.startSpan(name, parent: parent, at: start) else { return }
        span.attributes = attributes
        span.end(at: max(start, end))
    }

    /// A step's `metadata.startTime` and `endTime`, each falling back on the event's time.
    private static func interval(
        _ metadata: JSONValue?,
        at time: DefaultTracerClock.Timestamp
    ) -> (DefaultTracerClock.Timestamp, DefaultTracerClock.Timestamp) {
        let start = metadata?["startTime"]?.stringValue.flatMap(TraceTimestamp.parse) ?? time
        let end = metadata?["endTime"]?.stringValue.flatMap(TraceTimestamp.parse) ?? time
        return (start, end)
    }

    /// A whole number from 0 below 10^12 (tokens, milliseconds, codes), else `nil`: what an agent
    /// sends cannot trap the conversion to `Int`.
    static func count(_ value: JSONValue?) -> Int? {
        guard case .number(let number)? = value, number >= 0, number < 1e12 else { return nil }
        return Int(number)
    }

    /// `arn:aws:bedrock:REGION:ACCOUNT:agent-alias/AGENT_ID/ALIAS_ID` → `AGENT_ID`.
    static func agentId(aliasArn: String) -> String? {
        let parts = aliasArn.split(separator: "/")
        guard parts.count == 3, parts[0].hasSuffix(":agent-alias") else { return nil }
        return String(parts[1])
    }

    private static func json(_ value: JSONValue) -> String {
        (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private static func truncated(_ text: String) -> String {
        text.count > Self.maxTextLength ? String(text.prefix(Self.maxTextLength)) + "…" : text
    }
}
