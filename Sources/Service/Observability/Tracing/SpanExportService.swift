import ServiceLifecycle

/// swift-otel's exporting service, with a limit on its shutdown: it sends the spans still
/// batched when the service group shuts down, but a collector that is down or slow (each export
/// waits up to its timeout, 10 s by default) must not hold the process past the task's stop
/// timeout, after the drain has had its `SHUTDOWN_GRACE_SECONDS`. Past ``shutdownLimit`` the
/// export is cancelled and the spans still queued are dropped.
struct SpanExportService: Service {
    let exporter: any Service
    /// With the drain's 25 s in the task's 30 s stop timeout, what is left before SIGKILL.
    var shutdownLimit: Duration = .seconds(3)

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.exporter.run() }
            group.addTask {
                try await gracefulShutdown()
                try await Task.sleep(for: self.shutdownLimit)
            }
            // Whichever ends first: the exporter (having sent its spans), or the limit.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
