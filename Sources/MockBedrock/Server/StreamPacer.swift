import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Paces one response's frames on its connection's event loop.
///
/// Each pause counts from when the previous one was due, not from when the write in between
/// ended: a model produces on its own clock, so a stream keeps its cadence however long writes
/// take, and thousands of paced streams do not drift together into bursts. A stopped pacer (the
/// server shutting down, or the stream's task cancelled) ends the pause in progress and refuses
/// the next, so a stalled stream does not hold a shutdown for an hour.
final class StreamPacer: Sendable {
    private struct State {
        var due: NIODeadline
        var timer: Scheduled<Void>?
        var stopped = false
    }

    /// Pauses longer than this are taken in slices, looking at the client between them; after a
    /// shorter one, the next write finds out.
    private static let uncheckedPause = TimeAmount.seconds(2)
    /// How often a long pause looks at the client.
    private static let slice = TimeAmount.milliseconds(500)

    private let channel: any Channel
    private let state: Mutex<State>

    /// A pacer whose first pause counts from now.
    init(channel: any Channel) {
        self.channel = channel
        self.state = Mutex(State(due: .now()))
    }

    /// Waits until `milliseconds` after the previous pause was due. While a response is written the
    /// server reads nothing, so a client that left during a long pause (a stalled stream is exactly
    /// when clients give up) would go unseen until the next write: long pauses look at the
    /// connection every half second and throw ``ClientGone``.
    func pause(milliseconds: Int) async throws {
        let deadline = self.state.withLock { state in
            state.due = state.due + .milliseconds(Int64(milliseconds))
            return state.due
        }
        guard deadline - .now() > Self.uncheckedPause else {
            return try await self.sleep(until: deadline)
        }
        while NIODeadline.now() < deadline {
            try await self.sleep(until: min(deadline, .now() + Self.slice))
            guard try await self.peerIsConnected() else { throw ClientGone() }
        }
    }

    /// Ends the pause in progress with a `CancellationError`, and every later one at once.
    /// When the last pause asked for is due: each pause counts from the one before it.
    var due: NIODeadline { self.state.withLock { $0.due } }

    func stop() {
        let timer = self.state.withLock { state in
            state.stopped = true
            return state.timer
        }
        timer?.cancel()
    }

    /// Sleeps on a timer of the connection's own event loop, so the stream wakes up where its next
    /// write goes; thousands of streams pausing at once cost no timer thread and no hand-over.
    private func sleep(until deadline: NIODeadline) async throws {
        let timer = self.state.withLock { state -> Scheduled<Void>? in
            guard !state.stopped else { return nil }
            state.timer = self.channel.eventLoop.scheduleTask(deadline: Self.wakeUp(for: deadline, now: .now())) {}
            return state.timer
        }
        guard let timer else { throw CancellationError() }
        do {
            try await timer.futureResult.get()
        } catch {
            throw CancellationError()
        }
    }

    /// When a pause due at `deadline` ends: on the next whole millisecond, so the pauses of many
    /// streams due within one millisecond end in one wake-up of the loop, which writes them
    /// together (at 9,000 paced streams this cut MockBedrock's CPU by a fifth, and the service's and
    /// the client's with it). A pause already late ends at once. Delays are whole milliseconds, so a
    /// stream's cadence is kept exactly.
    static func wakeUp(for deadline: NIODeadline, now: NIODeadline) -> NIODeadline {
        guard deadline > now else { return deadline }
        let millisecond: UInt64 = 1_000_000
        return .uptimeNanoseconds((deadline.uptimeNanoseconds + millisecond - 1) / millisecond * millisecond)
    }

    /// Whether the client still holds the connection: on Linux the kernel's TCP state shows a
    /// close at once (`CLOSE_WAIT` once the client's FIN arrived, `CLOSE` after a reset).
    private func peerIsConnected() async throws -> Bool {
        guard self.channel.isActive else { return false }
        #if os(Linux)
        if let socket = self.channel as? any SocketOptionProvider {
            let state = try await socket.getTCPInfo().get().tcpi_state
            return state != UInt8(TCP_CLOSE_WAIT) && state != UInt8(TCP_CLOSE)
        }
        #endif
        return true
    }

    /// The client closed the connection while the stream paused.
    struct ClientGone: Error {}
}
