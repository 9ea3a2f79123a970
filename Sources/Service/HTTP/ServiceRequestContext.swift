import Hummingbird
import Logging

/// The request context: Hummingbird's core storage plus the request id that every log line, the
/// `X-Request-ID` header and the stream's lines carry.
struct ServiceRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``RequestLogMiddleware`` before any handler runs.
    var requestId = ""

    init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
