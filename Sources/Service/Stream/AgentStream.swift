import AsyncHTTPClient
import BedrockAgentRuntime
import CoreMetrics
import EventStream
import Foundation
import Hummingbird
import Logging
import NIOCore

/// One streamed answer, from the `start` line to exactly one terminal line.
///
/// The path of a request: ``StreamRequest`` (validated body) → ``BedrockAgentClient`` (signed
/// InvokeAgent, retried while nothing has been forwarded) → ``EventStreamDecoder`` (frames, as
/// bytes arrive) → ``AgentEvent`` (what each frame means) → ``NDJSONLines`` (one line per event,
/// written and flushed per network read).
///
/// The upstream work runs in a child task so that a ``StreamController`` stop (a timeout, the
/// client's disconnect, the end of the shutdown grace) can cancel it, cancelling the Bedrock
/// request, while this task stays able to write the terminal line.
final class AgentStream: @unchecked Sendable {
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
    }

    private let request: StreamRequest
    private let requestId: String
    private let client: BedrockAgentClient
    private let configuration: ServiceConfiguration
    private let controller: StreamController
    /// The event loop of the client's connection, where the upstream connection is taken too.
    private let eventLoop: any EventLoop
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let started = ContinuousClock.now

    // State of the one task working on the stream at a time: the upstream task while it runs,
    // this stream's own task before and after.
    private var lines = NDJSONLines()
    private var utf8 = UTF8StreamDecoder()
    private var decodedText: [UInt8] = []
    /// The whole answer so far, already JSON-escaped: chunk lines copy it instead of escaping it again.
    private var escapedAnswer = ByteBuffer()
    private var chunks = 0
    private var contentLength = 0
    private var forwardedEvents = 0
    private var firstChunkAt: ContinuousClock.Instant?
    private var attempts = 0
    private var outcome: Outcome?

    init(
        request: StreamRequest,
        requestId: String,
        client: BedrockAgentClient,
        configuration: ServiceConfiguration,
        controller: StreamController,
        eventLoop: any EventLoop,
        metrics: ServiceMetrics,
        logger: Logger
    ) {
        self.request = request
        self.requestId = requestId
        self.client = client
        self.configuration = configuration
        self.controller = controller
        self.eventLoop = eventLoop
        self.metrics = metrics
        self.logger = logger
    }

    /// Writes the whole stream to `writer`; returns what happened.
    func run(writer: inout any ResponseBodyWriter) async -> Summary {
        var buffer = ByteBuffer()
        self.lines.start(target: self.request.target, requestId: self.requestId, into: &buffer)
        var result: Result<Void, StreamFailure>
        do {
            try await writer.write(buffer)
            self.controller.arm()
            let stopReason = await self.raceUpstream(against: self.controller) { await self.pumpUpstream(to: &writer) }
            result = self.terminalResult(stopReason: stopReason)
        } catch {
            result = .failure(StreamFailure(.clientDisconnected, detail: "\(error)"))
        }
        self.controller.finish()

        buffer.clear()
        switch result {
        case .success:
            self.finishText()
            self.lines.completion(
                escapedFinalContent: self.escapedAnswer,
                sessionId: self.request.target.sessionId,
                chunks: self.chunks,
                into: &buffer
            )
        case .failure(let failure) where failure.kind == .clientDisconnected:
            break
        case .failure(let failure):
            self.lines.error(failure, requestId: self.requestId, into: &buffer)
        }
        if buffer.readableBytes > 0 {
            do {
                try await writer.write(buffer)
            } catch {
                result = .failure(StreamFailure(.clientDisconnected, detail: "\(error)"))
            }
        }
        return Summary(
            outcome: result,
            chunks: self.chunks,
            contentLength: self.contentLength,
            timeToFirstChunk: self.firstChunkAt.map { $0 - self.started },
            duration: ContinuousClock.now - self.started,
            attempts: self.attempts
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

    /// Runs `work` in a child task until it ends or `controller` stops the stream, which cancels it.
    /// Returns the stop reason, or `nil` when `work` ended first. This task waits on the controller
    /// itself, so a stream costs one child task (each task keeps its own stack of async frames).
    ///
    /// `work` writes to the response, which belongs to this task: it is lent to the child while
    /// this task waits for it, so the two never touch it at the same time.
    private func raceUpstream(
        against controller: StreamController,
        _ work: () async -> Void
    ) async -> StreamFailure.Kind? {
        await withoutActuallyEscaping(work) { work in
            let lent = UnsafeTransfer(work)
            return await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await lent.value()
                    // The work ended by itself: nothing stops the stream any more, and the wait ends.
                    controller.finish()
                }
                let reason = await controller.stopped()
                if reason != nil {
                    group.cancelAll()
                }
                // The child must end before the response is written to again.
                await group.waitForAll()
                return reason
            }
        }
    }

    /// Calls Bedrock, retrying throttling, 5xx and connection failures with exponential backoff and
    /// full jitter as long as nothing has been forwarded, and streams the answer.
    private func pumpUpstream(to writer: inout any ResponseBodyWriter) async {
        while true {
            self.attempts += 1
            do {
                try await self.streamAttempt(to: &writer)
                self.outcome = .completed
                return
            } catch is CancellationError {
                return
            } catch let failure as StreamFailure {
                guard failure.isRetriedBeforeFirstEvent, self.forwardedEvents == 0,
                    self.attempts < self.configuration.upstreamMaxAttempts
                else {
                    self.outcome = .failed(failure)
                    return
                }
                let cap = min(3_000, 200 << min(self.attempts - 1, 4))
                let delay = Int.random(in: 0...cap)
                self.logger.warning(
                    "Retrying InvokeAgent",
                    metadata: [
                        "attempt": "\(self.attempts)", "error_code": "\(failure.errorCode)", "delay_ms": "\(delay)",
                        "detail": "\(failure.detail)",
                    ]
                )
                self.metrics.upstreamRetries.increment()
                do {
                    try await Task.sleep(for: .milliseconds(delay))
                } catch {
                    return
                }
            } catch {
                self.outcome = .failed(StreamFailure(.internalError, detail: "\(error)"))
                return
            }
        }
    }

    /// One InvokeAgent call.
    private func streamAttempt(to writer: inout any ResponseBodyWriter) async throws {
        try await self.client.invoke(
            self.request.target,
            self.request.invokeAgentRequest(debugMode: self.configuration.debugMode),
            on: self.eventLoop
        ) { response in
            try await self.forward(response, to: &writer)
        }
    }

    /// Turns the frames of one InvokeAgent response into lines as they arrive.
    private func forward(_ response: HTTPClientResponse, to writer: inout any ResponseBodyWriter) async throws {
        let frames = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        var lines = ByteBuffer()
        do {
            do {
                for try await piece in response.body {
                    try frames.process(buffer: piece) { try self.forward($0, into: &lines) }
                    try await self.flush(&lines, to: &writer)
                }
            } catch let error where !(error is StreamFailure || error is EventStreamError) {
                throw BedrockAgentClient.transportFailure(error, afterHead: true)
            }
            try frames.finishProcessing(seenEOF: true) { try self.forward($0, into: &lines) }
            try await self.flush(&lines, to: &writer)
        } catch let error as EventStreamError {
            try await self.flush(&lines, to: &writer)
            throw StreamFailure(error.code == .truncatedFrame ? .streamCut : .corruptFrame, detail: "\(error)")
        } catch let failure as StreamFailure {
            // Lines decoded before the failing frame are part of the answer.
            try await self.flush(&lines, to: &writer)
            throw failure
        }
    }

    private func flush(_ lines: inout ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        guard lines.readableBytes > 0 else { return }
        do {
            try await writer.write(lines)
        } catch {
            throw StreamFailure(.clientDisconnected, detail: "\(error)")
        }
        lines.clear()
    }

    /// Appends the line for one decoded frame.
    private func forward(_ message: EventStreamMessage, into buffer: inout ByteBuffer) throws {
        let event = try AgentEvent(message)
        self.controller.eventArrived()
        switch event {
        case .chunk(let bytes, let citations):
            self.decodedText.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { self.utf8.decode($0, into: &self.decodedText) }
            // A chunk holding only the start of a character waits for the next one to complete it.
            guard !self.decodedText.isEmpty || citations != nil else { return }
            let escapedStart = self.escapedAnswer.writerIndex
            self.decodedText.withUnsafeBytes { JSONText.writeEscaped($0, to: &self.escapedAnswer) }
            self.escapedAnswer.withUnsafeReadableBytes { answer in
                self.lines.chunk(
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
            guard self.configuration.debugMode else { return }
            self.lines.trace(payload, into: &buffer)
        case .returnControl(let control):
            self.lines.returnControl(control, into: &buffer)
        case .files(let files):
            self.lines.files(files, into: &buffer)
        case .unknown(let type):
            self.logger.debug("Skipping an unknown event", metadata: ["event_type": "\(type)"])
            return
        }
        self.forwardedEvents += 1
    }

    /// Completes the answer with any character left incomplete at its end.
    private func finishText() {
        self.decodedText.removeAll(keepingCapacity: true)
        self.utf8.finish(into: &self.decodedText)
        self.decodedText.withUnsafeBytes { JSONText.writeEscaped($0, to: &self.escapedAnswer) }
        self.contentLength += self.decodedText.count
    }
}

/// Hands a value to another task where the code guarantees, as here, that the two tasks never
/// use it at the same time.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
