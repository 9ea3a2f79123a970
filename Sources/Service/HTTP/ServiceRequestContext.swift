import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage, the request id that every log line, the
/// `X-Request-ID` header and the stream's lines carry, and the connection, whose
/// ``ClientDisconnectHandler`` a stream registers with.
struct ServiceRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``RequestLogMiddleware`` before any handler runs.
    var requestId = ""
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
