import Authentication
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, until shutdown: re-reads `API_KEYS_FILE` (``APIKeyStore/reload()``) when `AUTH_MODE`
/// takes API keys, and is logged and otherwise ignored when it does not, so that a stray hangup
/// never ends the process without its drain.
struct APIKeyReloader: Service {
    let store: APIKeyStore?
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            if let store = self.store {
                store.reload()
            } else {
                self.logger.notice("SIGHUP received: nothing to reload (AUTH_MODE takes no API keys)")
            }
        }
    }
}
