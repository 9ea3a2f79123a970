import Logging
import NIOCore
import Prometheus
import Synchronization

/// Every open client connection: the cap on how many may be open (`MAX_CONNECTIONS`, kept below
/// the process's file-descriptor limit so that running out of descriptors can never take the
/// process down), the count /metrics reports, and what shutdown needs (close the connections that
/// are still sending a request, then every one left).
///
/// A connection over the cap is answered `503 too_many_connections` and closed at once, so it
/// holds its descriptor for microseconds; refusals are counted and logged at most once per
/// ``logInterval``.
final class OpenConnections: Sendable {
    /// What happens to connections accepted from now on.
    enum Admission: Sendable {
        /// Served while fewer than the cap are open.
        case open
        /// Closed as soon as they are accepted: the service has closed every connection for shutdown.
        case closed
    }

    private struct Entry: Sendable {
        let channel: any Channel
        let guardHandler: NIOLoopBound<ConnectionGuardHandler>
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var admission = Admission.open
        var refusedSinceLog = 0
        var lastLog: ContinuousClock.Instant?
    }

    /// The most connections open at once.
    let limit: Int
    /// How often refusals may be logged.
    static let logInterval = Duration.seconds(10)
    private let state = Mutex(State())
    private let metrics: ServiceMetrics
    private let logger: Logger

    init(limit: Int, metrics: ServiceMetrics, logger: Logger) {
        self.limit = limit
        self.metrics = metrics
        self.logger = logger
    }

    var count: Int { self.state.withLock { $0.entries.count } }

    /// Why a connection was refused.
    enum Refusal: Error {
        case full
        case shuttingDown
    }

    /// Registers `channel` if there is room, else says why it must be refused. The entry is
    /// removed when the channel closes.
    func admit(_ channel: any Channel, guardHandler: ConnectionGuardHandler) -> Result<Void, Refusal> {
        let key = ObjectIdentifier(channel)
        let entry = Entry(channel: channel, guardHandler: NIOLoopBound(guardHandler, eventLoop: channel.eventLoop))
        let (admitted, report) = self.state.withLock { state -> (Bool, (refused: Int, open: Int)?) in
            if case .open = state.admission, state.entries.count < self.limit {
                state.entries[key] = entry
                return (true, nil)
            }
            state.refusedSinceLog += 1
            let now = ContinuousClock.now
            guard state.lastLog.map({ now - $0 >= Self.logInterval }) ?? true else { return (false, nil) }
            state.lastLog = now
            defer { state.refusedSinceLog = 0 }
            return (false, (state.refusedSinceLog, state.entries.count))
        }
        guard admitted else {
            let refusal: Refusal = self.isClosed ? .shuttingDown : .full
            self.metrics.connectionsRefused.increment()
            if let report {
                self.logger.warning(
                    "Refusing connections",
                    metadata: [
                        "reason": .string(refusal == .shuttingDown ? "shutting down" : "MAX_CONNECTIONS reached"),
                        "refused": .stringConvertible(report.refused), "open_connections": .stringConvertible(report.open),
                        "max_connections": .stringConvertible(self.limit),
                    ]
                )
            }
            return .failure(refusal)
        }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { _ = $0.entries.removeValue(forKey: key) }
        }
        return .success(())
    }

    private var isClosed: Bool {
        self.state.withLock { if case .closed = $0.admission { true } else { false } }
    }

    /// Shutdown has begun: connections still sending a request are answered 503 and closed (their
    /// request would be refused anyway), so that none of them holds the shutdown up.
    func closeUnfinishedRequests() {
        for entry in self.state.withLock({ Array($0.entries.values) }) {
            entry.channel.eventLoop.execute {
                entry.guardHandler.value.closeIfReadingRequest()
            }
        }
    }

    /// The end of shutdown: every connection is closed, whatever it is doing, and connections
    /// accepted from now on are closed at once. Returns when all of them are closed.
    func closeAll() async {
        let entries = self.state.withLock { state in
            state.admission = .closed
            return Array(state.entries.values)
        }
        for entry in entries {
            try? await entry.channel.close()
        }
    }
}
