import NIOCore
import Synchronization

/// Decides when one stream must stop early, and tells the stream's task: its watchdog enforces
/// the first-event, idle and total timeouts, and the client's disconnect or the end of the shutdown
/// grace period stop it from outside. The first reason wins.
///
/// The watchdog is one timer on an event loop that is re-armed only when it fires, so an event
/// costs a clock read and a lock, not a timer.
final class StreamController: Sendable {
    /// The three time limits of a stream.
    struct Timeouts: Sendable {
        var firstEvent: Duration
        var idle: Duration
        var total: Duration
        /// How long the stream may write nothing before a heartbeat is due (``takeHeartbeat()``);
        /// `nil` for formats without heartbeats.
        var heartbeat: Duration? = nil
    }

    private struct State {
        var reason: StreamFailure.Kind?
        var waiter: CheckedContinuation<StreamFailure.Kind?, Never>?
        var sawEvent = false
        var lastEvent: NIODeadline
        var timer: Scheduled<Void>?
        var finished = false
        /// Cancels the upstream call in flight when the stream is stopped.
        var onStop: (@Sendable () -> Void)?
        /// The pause that ``stopped(waitingAtMost:)`` is in has run its course.
        var pauseEnded = false
        /// The stream's task is waiting for a write to the client to be taken.
        var writing = false
        /// Closes the connection when a stopped stream's write is not taken in ``stoppedWriteLimit``.
        var writeTimer: Scheduled<Void>?
        /// When the stream last wrote (or began to).
        var lastWrite: NIODeadline
        var heartbeatTimer: Scheduled<Void>?
        /// A heartbeat is due: nothing was written for the heartbeat interval.
        var heartbeatDue = false
        /// Writes the heartbeat (the stream's relay, while it forwards).
        var onHeartbeat: (@Sendable () -> Void)?
    }

    /// How long a stopped stream's write (its last line, or a line it was writing when stopped)
    /// may wait on a client that does not read, before the connection is closed: the time limits
    /// hold while a write waits, and a client that reads nothing cannot keep its slot.
    static let stoppedWriteLimit = Duration.seconds(1)

    private let state: Mutex<State>
    private let started: NIODeadline
    private let timeouts: Timeouts
    /// The stream's event loop (its client connection's), where its timers run.
    let eventLoop: any EventLoop
    private let closeConnection: @Sendable () -> Void

    /// `closeConnection` closes the client's connection, for a stopped stream whose write the client
    /// does not take.
    init(timeouts: Timeouts, eventLoop: any EventLoop, closeConnection: @escaping @Sendable () -> Void = {}) {
        let now = NIODeadline.now()
        self.started = now
        self.timeouts = timeouts
        self.eventLoop = eventLoop
        self.closeConnection = closeConnection
        self.state = Mutex(State(lastEvent: now, lastWrite: now))
    }

    /// The stream's task starts waiting for a write to the client.
    func writeBegan() {
        // Only heartbeats need the time of the last write: no clock read per write without them.
        let now = self.timeouts.heartbeat == nil ? nil : NIODeadline.now()
        let arm = self.state.withLock { state in
            state.writing = true
            if let now {
                state.lastWrite = now
                // Whatever is written now keeps the stream alive as a heartbeat would.
                state.heartbeatDue = false
            }
            return state.reason != nil && state.writeTimer == nil
        }
        if arm {
            self.armWriteTimer()
        }
    }

    /// The stream wrote, and the client's connection took it at once (the relay's lines): for the
    /// heartbeats, a write.
    func wrote() {
        guard self.timeouts.heartbeat != nil else { return }
        let now = NIODeadline.now()
        self.state.withLock { state in
            state.lastWrite = now
            state.heartbeatDue = false
        }
    }

    /// The write was taken. The upstream read, which waited with it, goes on: the idle limit
    /// counts from here, as the time spent waiting on the client was not Bedrock's silence.
    func writeEnded() {
        let now = NIODeadline.now()
        let timer = self.state.withLock { state in
            state.writing = false
            if state.sawEvent {
                state.lastEvent = max(state.lastEvent, now)
            }
            defer { state.writeTimer = nil }
            return state.writeTimer
        }
        timer?.cancel()
    }

    private func armWriteTimer() {
        let timer = self.eventLoop.scheduleTask(in: TimeAmount(Self.stoppedWriteLimit)) { [self] in
            let stuck = self.state.withLock { state in
                defer { state.writeTimer = nil }
                return state.writing
            }
            if stuck {
                self.closeConnection()
            }
        }
        let stale = self.state.withLock { state -> Scheduled<Void>? in
            defer { state.writeTimer = timer }
            return state.writeTimer
        }
        stale?.cancel()
    }

    /// Starts the watchdog (and the heartbeats, for a format that has them).
    func arm() {
        self.schedule(at: self.started + TimeAmount(min(self.timeouts.firstEvent, self.timeouts.total)))
        if let heartbeat = self.timeouts.heartbeat {
            self.scheduleHeartbeat(at: self.started + TimeAmount(heartbeat))
        }
    }

    /// Runs `action` on the event loop each time a heartbeat falls due, until replaced or cleared
    /// with `nil`: the stream's relay writes it.
    func whenHeartbeatDue(_ action: (@Sendable () -> Void)?) {
        self.state.withLock { $0.onHeartbeat = action }
    }

    /// Whether a heartbeat is due (nothing was written for the heartbeat interval); taking it
    /// clears it.
    func takeHeartbeat() -> Bool {
        self.state.withLock { state in
            defer { state.heartbeatDue = false }
            return state.heartbeatDue
        }
    }

    private func scheduleHeartbeat(at deadline: NIODeadline) {
        let timer = self.eventLoop.scheduleTask(deadline: deadline) { [self] in self.checkHeartbeat() }
        let stale = self.state.withLock { state -> Scheduled<Void>? in
            guard state.reason == nil, !state.finished else { return timer }
            defer { state.heartbeatTimer = timer }
            return state.heartbeatTimer
        }
        stale?.cancel()
    }

    /// A heartbeat falls due when nothing was written for the interval; the next check is one
    /// interval after the last write (or after this heartbeat).
    private func checkHeartbeat() {
        guard let interval = self.timeouts.heartbeat.map(TimeAmount.init) else { return }
        let now = NIODeadline.now()
        let (running, due, wake) = self.state.withLock { state -> (Bool, Bool, (@Sendable () -> Void)?) in
            guard state.reason == nil, !state.finished else { return (false, false, nil) }
            guard !state.writing, state.lastWrite + interval <= now else { return (true, false, nil) }
            state.heartbeatDue = true
            state.lastWrite = now
            return (true, true, state.onHeartbeat)
        }
        guard running else { return }
        if due {
            wake?()
        }
        let lastWrite = self.state.withLock { $0.lastWrite }
        self.scheduleHeartbeat(at: max(lastWrite + interval, now + .milliseconds(1)))
    }

    /// Records that an event arrived: the idle limit now counts from here.
    func eventArrived() {
        let now = NIODeadline.now()
        let first = self.state.withLock { state in
            defer {
                state.sawEvent = true
                state.lastEvent = now
            }
            return !state.sawEvent
        }
        // The timer waits for the first-event limit; the idle limit may come sooner. Later events
        // only move the deadline later, which the timer finds out when it fires.
        if first {
            self.schedule(at: min(now + TimeAmount(self.timeouts.idle), self.started + TimeAmount(self.timeouts.total)))
        }
    }

    /// A retry of the upstream call begins: until its first event, the first-event limit applies
    /// again (counted from the stream's start, as the client has waited since then).
    func retryStarted() {
        let running = self.state.withLock { state in
            state.sawEvent = false
            return state.reason == nil && !state.finished
        }
        if running {
            self.schedule(at: self.started + TimeAmount(min(self.timeouts.firstEvent, self.timeouts.total)))
        }
    }

    /// Stops the stream for `reason`, unless it already stopped or finished.
    func stop(_ reason: StreamFailure.Kind) {
        let (waiter, onStop, writing) = self.state.withLock {
            state -> (CheckedContinuation<StreamFailure.Kind?, Never>?, (@Sendable () -> Void)?, Bool) in
            guard state.reason == nil, !state.finished else { return (nil, nil, false) }
            state.reason = reason
            state.timer?.cancel()
            state.timer = nil
            state.heartbeatTimer?.cancel()
            state.heartbeatTimer = nil
            state.onHeartbeat = nil
            defer {
                state.waiter = nil
                state.onStop = nil
            }
            return (state.waiter, state.onStop, state.writing && state.writeTimer == nil)
        }
        onStop?()
        waiter?.resume(returning: reason)
        if writing {
            self.armWriteTimer()
        }
    }

    /// Runs `action` when the stream is stopped (at once when it already is) until it is replaced
    /// or cleared with `nil`: the stream's task hands in the cancellation of its upstream call.
    func whenStopped(_ action: (@Sendable () -> Void)?) {
        let stoppedAlready = self.state.withLock { state in
            state.onStop = state.reason == nil ? action : nil
            return state.reason != nil
        }
        if stoppedAlready {
            action?()
        }
    }

    /// The stream ended: the watchdog stops and nothing can stop it any more. Returns why it was
    /// stopped before, if it was.
    @discardableResult
    func finish() -> StreamFailure.Kind? {
        let (waiter, reason) = self.state.withLock { state -> (CheckedContinuation<StreamFailure.Kind?, Never>?, StreamFailure.Kind?) in
            state.finished = true
            state.onStop = nil
            state.timer?.cancel()
            state.timer = nil
            state.heartbeatTimer?.cancel()
            state.heartbeatTimer = nil
            state.onHeartbeat = nil
            defer { state.waiter = nil }
            return (state.waiter, state.reason)
        }
        waiter?.resume(returning: nil)
        return reason
    }

    /// Suspends until the stream is stopped and returns why; `nil` when the waiting task is
    /// cancelled, the stream finished first or the pause of ``stopped(waitingAtMost:)`` ended.
    func stopped() async -> StreamFailure.Kind? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: StreamFailure.Kind?? = self.state.withLock { state in
                    if let reason = state.reason { return .some(reason) }
                    if state.finished || state.pauseEnded || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Waits for the stream to be stopped, at most `limit`: the retry backoff, which a stop ends
    /// early. Returns the stop reason, or `nil` when the pause ran its course.
    func stopped(waitingAtMost limit: Duration) async -> StreamFailure.Kind? {
        self.state.withLock { $0.pauseEnded = false }
        let timer = self.eventLoop.scheduleTask(in: TimeAmount(limit)) { [self] in
            let waiter = self.state.withLock { state in
                state.pauseEnded = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
        defer {
            timer.cancel()
            self.state.withLock { $0.pauseEnded = false }
        }
        return await self.stopped()
    }

    /// Arms the timer for `deadline`, replacing the one armed before.
    private func schedule(at deadline: NIODeadline) {
        let timer = self.eventLoop.scheduleTask(deadline: deadline) { [self] in self.check() }
        let stale = self.state.withLock { state -> Scheduled<Void>? in
            guard state.reason == nil, !state.finished else { return timer }
            defer { state.timer = timer }
            return state.timer
        }
        stale?.cancel()
    }

    /// Stops the stream if a limit has passed, else re-arms for the earliest one left.
    ///
    /// While the stream waits on its client (a slow reader: the relay holds the upstream read until
    /// the connection drains), Bedrock is not being read, so its silence is not counted: the
    /// first-event and idle limits are looked at again once the write is taken. The total limit
    /// holds throughout, and a client that drains nothing loses its connection to the write stall
    /// limit (``ConnectionGuardHandler``).
    private func check() {
        let now = NIODeadline.now()
        let (sawEvent, lastEvent, writing) = self.state.withLock { ($0.sawEvent, $0.lastEvent, $0.writing) }
        let totalDeadline = self.started + TimeAmount(self.timeouts.total)
        var (eventDeadline, eventReason): (NIODeadline, StreamFailure.Kind) =
            sawEvent
            ? (lastEvent + TimeAmount(self.timeouts.idle), .idleTimeout)
            : (self.started + TimeAmount(self.timeouts.firstEvent), .firstEventTimeout)
        if writing {
            eventDeadline = max(eventDeadline, now + TimeAmount(self.timeouts.idle))
        }
        let (deadline, reason) = eventDeadline < totalDeadline ? (eventDeadline, eventReason) : (totalDeadline, .streamTimeout)
        if deadline <= now {
            self.stop(reason)
        } else {
            self.schedule(at: deadline)
        }
    }
}
