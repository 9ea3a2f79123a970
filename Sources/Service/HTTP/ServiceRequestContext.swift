import Authentication
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore

/// The request context: Hummingbird's core storage, the request id that every log line, the
/// `X-Request-ID` header and the stream's lines carry, the connection, whose
/// ``ClientDisconnectHandler`` a stream registers with, and the caller's ``Principal`` once
/// ``PrincipalAuthenticator`` has found one (hummingbird-auth's `AuthRequestContext`).
struct ServiceRequestContext: AuthRequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``RequestLog`` (in ``ServiceMiddleware``) before any handler runs.
    var requestId = ""
    let channel: any Channel
    /// Who is asking; `nil` until authenticated, and always with `AUTH_MODE=none`.
    var identity: Principal?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
