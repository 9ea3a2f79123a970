import Authentication
import ServiceLifecycle
import UnixSignals

/// Re-reads `API_KEYS_FILE` on each SIGHUP (``APIKeyStore/reload()``), until shutdown.
struct APIKeyReloader: Service {
    let store: APIKeyStore

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            self.store.reload()
        }
    }
}
