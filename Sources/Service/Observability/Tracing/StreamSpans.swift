import AgentRequest
import BedrockAgentCore
import BedrockAgentRuntime
import NIOCore
import Tracing

/// The tracer the service's spans go to, and what they may carry. `nil` where it is handed on
/// means tracing is off: no span is made and nothing on the stream's path asks a tracer anything.
struct StreamTracing: Sendable {
    let tracer: any Tracer
    /// `DEBUG_MODE`: spans may carry prompt, rationale, tool and answer text.
    let recordsContent: Bool
}

/// One stream's spans, under the request's server span:
///
/// ```
/// POST /api/agent/stream                       server (TracingMiddleware)
/// └─ invoke_agent <agent>                      the stream: gen_ai.*, session.id, usage, first chunk, error
///    ├─ InvokeAgent (or InvokeAgentRuntime)    client, one per attempt: retries are visible
///    │  └─ orchestration, chat <model>, …      the agent's own steps (AgentStepSpans)
///    └─ InvokeAgent                            the retry
/// ```
///
/// Made and ended by ``AgentStream`` on its own task; not shared.
final class StreamSpans {
    private let tracing: StreamTracing
    private let stream: any Span
    private var attempt: (any Span)?
    private var steps: AgentStepSpans?
    private let operation: String
    private let serverAddress: String?

    /// Starts the stream's span under `parent` (the server span's context, taken where the route ran).
    init(tracing: StreamTracing, parent: ServiceContext, request: StreamRequest, requestId: String, format: String, serverAddress: String?) {
        self.tracing = tracing
        self.operation = request.runtime == nil ? "InvokeAgent" : "InvokeAgentRuntime"
        self.serverAddress = serverAddress
        let span = tracing.tracer.startSpan("invoke_agent \(request.target.agentId)", context: parent, ofKind: .internal)
        span.updateAttributes { attributes in
            attributes["gen_ai.operation.name"] = "invoke_agent"
            attributes["gen_ai.system"] = "aws.bedrock"
            attributes["gen_ai.agent.id"] = request.runtime?.arn ?? request.target.agentId
            if request.runtime == nil {
                attributes["aws.bedrock.agent.alias_id"] = request.target.agentAliasId
            } else {
                attributes["aws.bedrock.agentcore.qualifier"] = request.runtime?.qualifier
            }
            attributes["session.id"] = request.target.sessionId
            attributes["request.id"] = requestId
            attributes["stream.format"] = format
            if tracing.recordsContent {
                attributes["gen_ai.prompt"] = request.inputText
            }
        }
        self.stream = span
    }

    /// Whether the spans are sampled: when not, the agent's steps are not even parsed.
    var isRecording: Bool { self.stream.isRecording }

    /// Starts attempt `number`'s client span; returns the headers that carry its context on
    /// (`traceparent`, `tracestate`), for a backend whose API takes them.
    func attemptStarted(number: Int) -> [(String, String)] {
        let span = self.tracing.tracer.startSpan(self.operation, context: self.stream.context, ofKind: .client)
        span.updateAttributes { attributes in
            attributes["rpc.system"] = "aws-api"
            attributes["rpc.service"] = self.operation == "InvokeAgent" ? "BedrockAgentRuntime" : "BedrockAgentCore"
            attributes["rpc.method"] = self.operation
            attributes["gen_ai.system"] = "aws.bedrock"
            attributes["server.address"] = self.serverAddress
            if number > 1 { attributes["http.request.resend_count"] = number - 1 }
        }
        self.attempt = span
        self.steps =
            span.isRecording ? AgentStepSpans(tracer: self.tracing.tracer, root: span.context, recordsContent: self.tracing.recordsContent) : nil
        var headers: [(String, String)] = []
        self.tracing.tracer.inject(span.context, into: &headers, using: HeaderPairsInjector())
        return headers
    }

    /// Ends the attempt's span (and its steps still open), with the failure that ended it.
    func attemptEnded(_ failure: StreamFailure?) {
        self.steps?.finish()
        self.steps = nil
        guard let span = self.attempt else { return }
        self.attempt = nil
        if let failure {
            span.attributes["error.type"] = failure.errorCode
            span.setStatus(SpanStatus(code: .error, message: failure.errorCode))
        }
        span.end()
    }

    /// A trace event of the attempt, for the agent's steps.
    func trace(_ payload: ByteBuffer) {
        self.steps?.record(tracePayload: payload)
    }

    /// Ends the stream's span with what the stream did.
    func finish(_ summary: AgentStream.Summary) {
        // An attempt still open was stopped (a time limit, the client, shutdown).
        if case .failure(let failure) = summary.outcome {
            self.attemptEnded(failure)
        } else {
            self.attemptEnded(nil)
        }
        self.stream.updateAttributes { attributes in
            attributes["stream.chunks"] = summary.chunks
            attributes["stream.attempts"] = summary.attempts
            if let first = summary.timeToFirstChunk {
                attributes["gen_ai.response.time_to_first_chunk_ms"] = first.wholeMilliseconds
            }
            if !summary.usage.isEmpty {
                attributes["gen_ai.usage.input_tokens"] = summary.usage.inputTokens
                attributes["gen_ai.usage.output_tokens"] = summary.usage.outputTokens
                attributes["aws.bedrock.model_invocations"] = summary.usage.modelInvocations
            }
        }
        if case .failure(let failure) = summary.outcome {
            self.stream.attributes["error.type"] = failure.errorCode
            // A client that went away is not the service's error.
            if failure.kind != .clientDisconnected {
                self.stream.setStatus(SpanStatus(code: .error, message: failure.errorCode))
            }
        }
        self.stream.end()
    }
}

/// Writes a tracer's propagation fields as header pairs.
struct HeaderPairsInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(String, String)]) {
        carrier.append((key, value))
    }
}
