import Logging
import ServiceLifecycle

/// The shutdown drain: when asked to shut down, refuse new streams and report unhealthy, answer
/// requests still arriving with 503, let streams in flight finish for up to the grace period, then
/// end the rest with an `server_shutting_down` error line, give them ``finalWrite`` to write it, and
/// close every connection left, whatever its client does. The server's own shutdown, which waits
/// for its connections, then has none to wait for: the process exits within the grace period plus
/// ``finalWrite``.
struct StreamDrain: Service {
    let streams: ActiveStreams
    let connections: OpenConnections
    let grace: Duration
    let logger: Logger

    /// How long streams ended at the end of the grace period have to write their last line.
    static let finalWrite = Duration.seconds(2)

    func run() async throws {
        try? await gracefulShutdown()
        self.streams.beginDraining()
        self.connections.closeUnfinishedRequests()
        self.logger.info("Shutting down", metadata: ["active_streams": .stringConvertible(self.streams.count)])
        await self.waitForStreams(until: ContinuousClock.now + self.grace)
        if self.streams.count > 0 {
            self.logger.warning("Ending streams still running", metadata: ["active_streams": .stringConvertible(self.streams.count)])
            self.streams.stopAll(.serverShuttingDown)
            await self.waitForStreams(until: ContinuousClock.now + Self.finalWrite)
        }
        let open = self.connections.count
        await self.connections.closeAll()
        self.logger.info(
            "All streams ended",
            metadata: ["active_streams": .stringConvertible(self.streams.count), "connections_closed": .stringConvertible(open)]
        )
    }

    private func waitForStreams(until deadline: ContinuousClock.Instant) async {
        while self.streams.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
