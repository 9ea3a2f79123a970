import AgentRequest
import NIOCore

/// Where answers come from: a backend turns a validated request into agent events, one attempt at
/// a time, and keeps its URL, signing and wire format to itself. The stream (``AgentStream``)
/// decides about retries, time limits and output; it knows nothing of what a backend calls.
///
/// InvokeAgent (``InvokeAgentBackend``) is the first backend.
protocol AgentBackend: Sendable {
    /// Sends one attempt's request over a connection on `eventLoop` (the client's, so that both
    /// sides of the stream stay on one thread), returning once it is on its way; a stop of
    /// `controller` cancels it from then on. Throws the ``StreamFailure`` that prevents sending
    /// (no credentials), or `CancellationError`. `traceHeaders` carry the attempt's trace context
    /// (`traceparent`, `tracestate`; none when tracing is off), for a backend whose API takes them.
    func send(
        _ request: StreamRequest,
        traceHeaders: [(String, String)],
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) async throws
        -> any AgentAttempt
}

/// One attempt's answer, read by the stream in order: ``answer()``, then ``relay(to:on:)``; then
/// ``close()``, whatever happened.
protocol AgentAttempt: AnyObject {
    /// Waits for the answer to begin. Throws the ``StreamFailure`` an error answer reports, or
    /// `CancellationError`.
    func answer() async throws

    /// Hands the events of the rest of the answer to `sink` on `eventLoop` (the stream's), those of
    /// each network read as it arrives, reading the next once the sink can take more; returns how
    /// the answer ended (never ``AttemptRead/more``) once the sink has taken everything before the
    /// end. Events read before a failure are handed over before it is reported: they are part of
    /// the answer.
    func relay(to sink: any AttemptSink, on eventLoop: any EventLoop) async -> AttemptRead

    /// The attempt is over: its connection is given back, or closed if the answer was not read to
    /// its end. Calling it again does nothing.
    func close()
}

/// What takes an answer's events as they arrive: the stream's relay (``StreamRelay``).
protocol AttemptSink: AnyObject {
    /// On the stream's event loop: takes the events of one piece of the answer, leaving `events`
    /// empty. Returns `nil` when it can take more at once, or a future that completes when it can.
    func take(_ events: inout [AgentEvent]) -> EventLoopFuture<Void>?
}

/// What a read of an attempt's answer found.
enum AttemptRead {
    /// Events were decoded (possibly none yet); more may follow.
    case more
    /// The answer ended well.
    case ended
    /// The answer ended with a failure.
    case failed(StreamFailure)
    /// The stream was stopped and the call cancelled.
    case cancelled
}
