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

/// One attempt's answer, read by the stream in order: ``answer()``, then ``nextEvents(into:)``
/// until it returns something other than ``AttemptRead/more``; then ``close()``, whatever happened.
protocol AgentAttempt: AnyObject {
    /// Waits for the answer to begin. Throws the ``StreamFailure`` an error answer reports, or
    /// `CancellationError`.
    func answer() async throws

    /// Appends the events of the next piece of the answer (one network read) to `events`, and says
    /// whether more may follow. Events read before a failure are appended before it is reported:
    /// they are part of the answer. When the controller's heartbeat falls due
    /// (`StreamController.whenHeartbeatDue`), a waiting read returns `.more` with no events.
    func nextEvents(into events: inout [AgentEvent]) async -> AttemptRead

    /// The attempt is over: its connection is given back, or closed if the answer was not read to
    /// its end. Calling it again does nothing.
    func close()
}

/// What a read of an attempt's answer found.
enum AttemptRead {
    /// Events were read (possibly none yet); more may follow.
    case more
    /// The answer ended well.
    case ended
    /// The answer ended with a failure.
    case failed(StreamFailure)
    /// The stream was stopped and the call cancelled.
    case cancelled
}
