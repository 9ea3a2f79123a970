import Synchronization

/// The streams in flight: admission against `MAX_CONCURRENT_STREAMS`, the count /health and
/// metrics report, and what the shutdown drain needs (refuse new streams, stop the rest).
final class ActiveStreams: Sendable {
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

    /// Registers `controller` if there is room and the service is not draining; the stream holds
    /// its place for as long as it keeps the returned slot.
    func admit(_ controller: StreamController) -> Result<Slot, Refusal> {
        self.state.withLock { state in
            if state.draining { return .failure(.draining) }
            guard state.streams.count < self.limit else { return .failure(.full) }
            state.streams[ObjectIdentifier(controller)] = controller
            return .success(Slot(streams: self, controller: controller))
        }
    }

    /// Why a stream was not admitted.
    enum Refusal: Error {
        case full
        case draining
    }

    /// A stream's place among the active streams, given back when the slot goes away: after the
    /// stream ends, or when its response is dropped without ever being written (a client gone
    /// before the response head), so no path can leak a place.
    final class Slot: Sendable {
        private let streams: ActiveStreams
        private let controller: StreamController

        fileprivate init(streams: ActiveStreams, controller: StreamController) {
            self.streams = streams
            self.controller = controller
        }

        deinit {
            self.streams.state.withLock { $0.streams[ObjectIdentifier(self.controller)] = nil }
        }
    }

    /// From now on new streams are refused and /health reports the service as going away.
    func beginDraining() {
        self.state.withLock { $0.draining = true }
    }

    /// Stops every stream in flight for `reason`.
    func stopAll(_ reason: StreamFailure.Kind) {
        let controllers = self.state.withLock { Array($0.streams.values) }
        for controller in controllers {
            controller.stop(reason)
        }
    }
}
