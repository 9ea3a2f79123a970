import Synchronization

/// The streams in flight: admission against `MAX_CONCURRENT_STREAMS`, the count /health and
/// metrics report, and what the shutdown drain needs (refuse new streams, stop the rest).
final class ActiveStreams: Sendable {
    /// Whether a new stream may start.
    enum Admission: Equatable {
        case admitted
        case full
        case draining
    }

    private struct State {
        var streams: [ObjectIdentifier: StreamController] = [:]
        var draining = false
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { self.state.withLock { $0.streams.count } }
    var isDraining: Bool { self.state.withLock { $0.draining } }

    /// Registers `controller` if there is room and the service is not draining.
    func admit(_ controller: StreamController) -> Admission {
        self.state.withLock { state in
            if state.draining { return .draining }
            guard state.streams.count < self.limit else { return .full }
            state.streams[ObjectIdentifier(controller)] = controller
            return .admitted
        }
    }

    /// Unregisters a stream that ended.
    func release(_ controller: StreamController) {
        self.state.withLock { $0.streams[ObjectIdentifier(controller)] = nil }
    }

    /// From now on new streams are refused and /health reports the service as going away.
    func beginDraining() {
        self.state.withLock { $0.draining = true }
    }

    /// Stops every stream in flight for `reason`.
    func stopAll(_ reason: StreamFailure.Kind) {
        let controllers = self.state.withLock { Array($0.streams.values) }
        controllers.forEach { $0.stop(reason) }
    }
}
