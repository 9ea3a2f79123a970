import AgentRequest
import BedrockAgentRuntime
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Prometheus
import Tracing

/// One streamed answer, from the `start` line to exactly one terminal line.
///
/// The path of a request: ``StreamRequest`` (validated body) → an ``AgentBackend`` (for
/// InvokeAgent: the signed call, its frames as they arrive; retried while nothing has been
/// forwarded) → ``AgentEvent``s → a ``StreamOutput`` (``NDJSONOutput``: one line per event,
/// written and flushed per network read).
///
/// Everything runs in the task that writes the response: a ``StreamController`` stop (a timeout,
/// the client's disconnect, the end of the shutdown grace) cancels the Bedrock call in flight
/// (``UpstreamResponse``) or ends a retry's backoff, and this task then writes the terminal line.
/// No child task is needed, and none is made (ARCHITECTURE.md, "Async frames on the hot path").
final class AgentStream: StreamLines, @unchecked Sendable {
    /// How the upstream work ended, when it ended by itself.
    enum Outcome {
        case completed
        case failed(StreamFailure)
    }

    /// What the stream did, for the completion log and metrics.
    struct Summary: Sendable {
        var outcome: Result<Void, StreamFailure>
        var chunks: Int
        var contentLength: Int
        var timeToFirstChunk: Duration?
        var duration: Duration
        var attempts: Int
        /// The output's format (`ndjson`, `sse`).
        var format: String
        /// The tokens the answer's model invocations used, as far as the agent reported them.
        var usage: TokenUsage
    }

    private let request: StreamRequest
    /// The format the client reads.
    private var output: any StreamOutput
    private let requestId: String
    private let backend: any AgentBackend
    /// `UPSTREAM_MAX_ATTEMPTS`.
    private let maxAttempts: Int
    private let debug: DebugPolicy
    /// `USAGE_METERING`: traces are read for their token usage.
    private let metersUsage: Bool
    private let controller: StreamController
    /// Told what the agent asks for and which results it took (``PendingInvocations``).
    private let invocations: PendingInvocations
    /// The results this request sends back, until the agent's first event shows they were taken.
    private var unconfirmedInvocation: String?
    /// The event loop of the client's connection, where the upstream connection is taken too.
    private let eventLoop: any EventLoop
    /// Where the answer's lines are written, on that event loop.
    private let connection: NIOLoopBound<StreamWriteHandler>
    private let metrics: ServiceMetrics
    private let log: StreamLog
    private let started = ContinuousClock.now
    /// Where the stream's spans go, and the server span's context they go under; `nil`: no tracing.
    private let tracing: (StreamTracing, parent: ServiceContext)?
    private var spans: StreamSpans?
    /// The Bedrock endpoint's host, for the attempts' spans.
    private let serverAddress: String?
    /// Told the tokens of each usage report as it arrives (the principal's token budget).
    private let chargeTokens: (@Sendable (Int) -> Void)?

    // State of the stream's task.
    private var utf8 = UTF8StreamDecoder()
    private var decodedText: [UInt8] = []
    /// The whole answer so far, already JSON-escaped: chunk lines copy it instead of escaping it again.
    private var escapedAnswer = ByteBuffer()
    private var chunks = 0
    private var usage = TokenUsage()
    private var contentLength = 0
    private var forwardedEvents = 0
    private var firstChunkAt: ContinuousClock.Instant?
    /// The `start` line until it is written. It goes out once the first Bedrock request is on its
    /// way, so that writing it overlaps Bedrock's work instead of delaying the request; before the
    /// wait for a retry; or, when the stream ends first, with the terminal line.
    private var pendingStart: ByteBuffer?
    private var attempts = 0
    private var outcome: Outcome?

    init(
        request: StreamRequest,
        output: any StreamOutput,
        requestId: String,
        backend: any AgentBackend,
        maxAttempts: Int,
        debug: DebugPolicy,
        metersUsage: Bool,
        controller: StreamController,
        invocations: PendingInvocations,
        eventLoop: any EventLoop,
        connection: NIOLoopBound<StreamWriteHandler>,
        metrics: ServiceMetrics,
        log: StreamLog,
        tracing: (StreamTracing, parent: ServiceContext)? = nil,
        serverAddress: String? = nil,
        chargeTokens: (@Sendable (Int) -> Void)? = nil
    ) {
        self.request = request
        self.output = output
        self.requestId = requestId
        self.backend = backend
        self.maxAttempts = maxAttempts
        self.debug = debug
        self.metersUsage = metersUsage
        self.controller = controller
        self.invocations = invocations
        self.unconfirmedInvocation = request.invocationId
        self.eventLoop = eventLoop
        self.connection = connection
        self.metrics = metrics
        self.log = log
        self.tracing = tracing
        self.serverAddress = serverAddress
        self.chargeTokens = chargeTokens
    }

    /// Writes the whole stream to `writer`; returns what happened.
    func run(writer: inout any ResponseBodyWriter) async -> Summary {
        self.startSpans()
        var start = ByteBuffer()
        self.output.start(target: self.request.target, requestId: self.requestId, into: &start)
        self.pendingStart = start
        self.controller.arm()
        await self.pumpUpstream(to: &writer)
        var result = self.terminalResult(stopReason: self.controller.finish())

        // A stream that ended before its start line went out writes the two lines together.
        var buffer = self.pendingStart ?? ByteBuffer()
        switch result {
        case .success:
            self.finishText()
            self.output.completion(
                escapedFinalContent: self.escapedAnswer,
                sessionId: self.request.target.sessionId,
                chunks: self.chunks,
                usage: self.usage,
                into: &buffer
            )
        case .failure(let failure) where failure.kind == .clientDisconnected:
            buffer.clear()
        case .failure(let failure):
            self.output.error(failure, requestId: self.requestId, into: &buffer)
        }
        if buffer.readableBytes > 0 {
            do {
                try await self.write(buffer, to: &writer)
            } catch {
                result = .failure(StreamFailure.clientGone(error))
            }
        }
        let summary = Summary(
            outcome: result,
            chunks: self.chunks,
            contentLength: self.contentLength,
            timeToFirstChunk: self.firstChunkAt.map { $0 - self.started },
            duration: ContinuousClock.now - self.started,
            attempts: self.attempts,
            format: self.output.formatName,
            usage: self.usage
        )
        self.spans?.finish(summary)
        return summary
    }

    /// The stream's span, when tracing is on.
    @inline(never)
    private func startSpans() {
        guard let (tracing, parent) = self.tracing else { return }
        self.spans = StreamSpans(
            tracing: tracing,
            parent: parent,
            request: self.request,
            requestId: self.requestId,
            format: self.output.formatName,
            serverAddress: self.serverAddress
        )
    }

    /// The text of the whole answer, for the debug log (kept only in its escaped form, so it is
    /// unescaped here, off the streaming path).
    var answerText: String {
        let quoted = "\"" + String(buffer: self.escapedAnswer) + "\""
        return (try? JSONDecoder().decode(String.self, from: Data(quoted.utf8))) ?? ""
    }

    private func terminalResult(stopReason: StreamFailure.Kind?) -> Result<Void, StreamFailure> {
        if let stopReason {
            return .failure(StreamFailure(stopReason, detail: "stopped while streaming"))
        }
        switch self.outcome {
        case .completed?: return .success(())
        case .failed(let failure)?: return .failure(failure)
        case nil: return .failure(StreamFailure(.internalError, detail: "the upstream task ended without an outcome"))
        }
    }

    // MARK: Upstream

    /// Asks the backend, retrying throttling, 5xx and connection failures with exponential backoff and
    /// full jitter as long as nothing has been forwarded, and streams the answer.
    ///
    /// This and the async functions it calls keep their frames small, with the work between
    /// suspensions in synchronous functions (ARCHITECTURE.md, "Async frames on the hot path").
    private func pumpUpstream(to writer: inout any ResponseBodyWriter) async {
        while true {
            self.attempts += 1
            let failure: StreamFailure
            let traceHeaders = self.spans?.attemptStarted(number: self.attempts) ?? []
            do {
                let attempt = try await self.backend.send(
                    self.request,
                    traceHeaders: traceHeaders,
                    on: self.eventLoop,
                    stoppedBy: self.controller
                )
                defer { attempt.close() }
                // The start line goes out while the backend works on the request.
                if let disconnected = await self.writeStart(to: &writer) {
                    throw disconnected
                }
                try await attempt.answer()
                try await self.forward(attempt)
                self.outcome = .completed
                self.spans?.attemptEnded(nil)
                return
            } catch is CancellationError {
                return
            } catch {
                failure = error as? StreamFailure ?? StreamFailure(.internalError, detail: "\(error)")
            }
            self.spans?.attemptEnded(failure)
            guard let delay = self.retryDelay(after: failure) else {
                self.outcome = .failed(failure)
                return
            }
            // From here the retry waits for its first event, the backoff included.
            self.startRetry()
            if let disconnected = await self.writeStart(to: &writer) {
                self.outcome = .failed(disconnected)
                return
            }
            if await self.controller.stopped(waitingAtMost: delay) != nil {
                return
            }
        }
    }

    /// A retry starts afresh: what the attempt before it read is forgotten. Retries happen only
    /// while nothing was forwarded, but an attempt may have read events that forward nothing (the
    /// first bytes of a character, an unknown event): their bytes must not start the retried
    /// answer, and the retry waits for its first event under the first-event limit, not the idle one.
    @inline(never)
    private func startRetry() {
        self.utf8 = UTF8StreamDecoder()
        self.controller.retryStarted()
    }

    /// How long to wait before retrying after `failure`, logged and counted; `nil` when the
    /// failure is final.
    @inline(never)
    private func retryDelay(after failure: StreamFailure) -> Duration? {
        guard failure.isRetriedBeforeFirstEvent, self.forwardedEvents == 0,
            self.attempts < self.maxAttempts
        else { return nil }
        let cap = min(3_000, 200 << min(self.attempts - 1, 4))
        let delay = Int.random(in: 0...cap)
        self.log.logger.warning(
            "Retrying InvokeAgent",
            metadata: [
                "attempt": "\(self.attempts)", "error_code": "\(failure.errorCode)", "delay_ms": "\(delay)",
                "detail": "\(failure.detail)",
            ]
        )
        self.metrics.upstreamRetries.increment()
        return .milliseconds(delay)
    }

    /// The most line bytes gathered before they are written: a network read can complete many
    /// frames, and each chunk line carries the whole answer so far, so the lines of one read are
    /// written in batches of about this size, each once the connection has drained below NIO's
    /// high-water mark (``StreamRelay``). What is queued for one client is then bounded by this,
    /// one line and NIO's write buffer.
    static let linesPerWrite = 64 * 1024

    /// Relays the events of one attempt's answer as they arrive: on the event loop, as lines
    /// written straight into the client's connection (``StreamRelay``).
    private func forward(_ attempt: any AgentAttempt) async throws {
        let relay = StreamRelay(stream: self, connection: self.connection, controller: self.controller, eventLoop: self.eventLoop)
        self.controller.whenHeartbeatDue { relay.heartbeatDue() }
        defer { self.controller.whenHeartbeatDue(nil) }
        switch await attempt.relay(to: relay, on: self.eventLoop) {
        case .more, .ended: return
        case .failed(let failure): throw failure
        case .cancelled: throw CancellationError()
        }
    }

    /// Appends the lines of `events` from `next` on until they reach ``linesPerWrite`` bytes (the
    /// relay, on the event loop).
    func lines(from events: [AgentEvent], next: inout Int, into lines: inout ByteBuffer) {
        while next < events.count && lines.readableBytes < Self.linesPerWrite {
            self.forward(events[next], into: &lines)
            next += 1
        }
    }

    /// The format's heartbeat, if it has one.
    func heartbeat(into buffer: inout ByteBuffer) {
        self.output.heartbeat(into: &buffer)
    }

    /// Writes the `start` line unless it already was; returns the failure when the client is gone.
    private func writeStart(to writer: inout any ResponseBodyWriter) async -> StreamFailure? {
        guard let start = self.pendingStart else { return nil }
        self.pendingStart = nil
        do {
            try await self.write(start, to: &writer)
            return nil
        } catch {
            return StreamFailure.clientGone(error)
        }
    }

    /// Every write of the stream: the controller knows while one waits on the client, so that a
    /// stopped stream whose client reads nothing has its connection closed (``StreamController``).
    private func write(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        self.controller.writeBegan()
        defer { self.controller.writeEnded() }
        try await writer.write(buffer)
    }

    /// Appends the line for one event.
    private func forward(_ event: AgentEvent, into buffer: inout ByteBuffer) {
        self.controller.eventArrived()
        if let invocationId = self.unconfirmedInvocation {
            self.unconfirmedInvocation = nil
            self.invocations.answered(self.request.bedrockTarget, invocationId: invocationId)
        }
        switch event {
        case .chunk(let bytes, let citations):
            self.decodedText.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { self.utf8.decode($0, into: &self.decodedText) }
            // A chunk holding only the start of a character waits for the next one to complete it.
            guard !self.decodedText.isEmpty || citations != nil else { return }
            let escapedStart = self.escapedAnswer.writerIndex
            self.decodedText.withUnsafeBytes { JSONText.writeEscaped($0, to: &self.escapedAnswer) }
            self.escapedAnswer.withUnsafeReadableBytes { answer in
                self.output.chunk(
                    escapedContent: UnsafeRawBufferPointer(rebasing: answer[(escapedStart - self.escapedAnswer.readerIndex)...]),
                    escapedAccumulated: self.escapedAnswer,
                    citations: citations,
                    into: &buffer
                )
            }
            self.chunks += 1
            self.contentLength += self.decodedText.count
            if self.firstChunkAt == nil {
                self.firstChunkAt = .now
            }
        case .trace(let payload):
            if self.metersUsage { self.meter { $0.add(tracePayload: payload) } }
            self.spans?.trace(payload)
            // With metering, Bedrock sends traces on every call; the client gets those it asked for, in debug mode.
            guard self.debug.forwardsTraces && self.request.enableTrace else { return }
            // It goes into a line as it is: it must be JSON.
            guard (try? JSONSerialization.jsonObject(with: Data(buffer: payload, byteTransferStrategy: .noCopy))) != nil else {
                self.log.logger.warning("Skipping a trace that is not JSON", metadata: ["bytes": .stringConvertible(payload.readableBytes)])
                return
            }
            self.output.trace(payload, into: &buffer)
        case .usage(let reported):
            if self.metersUsage { self.meter { $0.add(reported) } }
            return
        case .returnControl(let control):
            if let invocationId = control.invocationId {
                let tools = (control.invocationInputs ?? []).map { UIMessageStreamOutput.toolName(of: $0) }
                self.invocations.asked(self.request.bedrockTarget, invocationId: invocationId, tools: tools)
            }
            self.output.returnControl(control, into: &buffer)
        case .files(let files):
            self.output.files(files, into: &buffer)
        case .unknown(let type):
            self.log.logger.debug("Skipping an unknown event", metadata: ["event_type": "\(type)"])
            return
        }
        self.forwardedEvents += 1
    }

    /// Adds usage, and charges its tokens as they are reported.
    private func meter(_ add: (inout TokenUsage) -> Void) {
        let before = self.usage.inputTokens + self.usage.outputTokens
        add(&self.usage)
        let added = self.usage.inputTokens + self.usage.outputTokens - before
        if added > 0 { self.chargeTokens?(added) }
    }

    /// Completes the answer with any character left incomplete at its end.
    private func finishText() {
        self.decodedText.removeAll(keepingCapacity: true)
        self.utf8.finish(into: &self.decodedText)
        self.decodedText.withUnsafeBytes { JSONText.writeEscaped($0, to: &self.escapedAnswer) }
        self.contentLength += self.decodedText.count
    }
}
