import HTTPTypes
import Hummingbird
import Logging
import Tracing

/// After Hummingbird's `TracingMiddleware`: puts the server span's `trace_id` and `span_id` on the
/// request's log lines (its stream's lines carry the stream span's), in the W3C form a trace
/// viewer searches by. Added only when tracing is on.
struct TraceLogMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let tracer: any Tracer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await next(request, self.identified(context))
    }

    @inline(never)
    private func identified(_ context: Context) -> Context {
        guard let span = ServiceContext.current else { return context }
        var context = context
        for (key, value) in Self.ids(of: span, tracer: self.tracer) {
            context.logger[metadataKey: key] = .string(value)
        }
        return context
    }

    /// `trace_id` and `span_id` of the span whose context is `context`, read off its `traceparent`.
    static func ids(of context: ServiceContext, tracer: any Tracer) -> [String: String] {
        var headers: [(String, String)] = []
        tracer.inject(context, into: &headers, using: HeaderPairsInjector())
        guard let traceparent = headers.first(where: { $0.0 == "traceparent" })?.1 else { return [:] }
        let parts = traceparent.split(separator: "-")
        guard parts.count == 4, parts[1].count == 32, parts[2].count == 16 else { return [:] }
        return ["trace_id": String(parts[1]), "span_id": String(parts[2])]
    }
}

/// Hummingbird's `TracingMiddleware` for the API's routes: health checks and metrics scrapes
/// (every few seconds from the load balancer, ECS and Prometheus) make no spans.
struct APITracingMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let tracing = TracingMiddleware<ServiceRequestContext>()
    static let untraced: Set<String> = ["/health", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.untraced.contains(request.uri.path) {
            return try await next(request, context)
        }
        return try await self.tracing.handle(Self.withBoundedTraceState(request), context: context, next: next)
    }

    /// W3C's limits on `tracestate` (512 characters, 32 members), which the trace-context
    /// library does not enforce: a longer one is dropped (as the recommendation allows) instead
    /// of riding on every span of the request and on to AgentCore, which refuses it.
    static func withBoundedTraceState(_ request: Request) -> Request {
        let values = request.headers[values: .traceState]
        guard !values.isEmpty else { return request }
        let joined = values.joined(separator: ",")
        guard joined.utf8.count > 512 || joined.split(separator: ",").count > 32 else { return request }
        var head = request.head
        head.headerFields[values: .traceState] = []
        return Request(head: head, body: request.body)
    }
}

extension HTTPField.Name {
    static let traceState = HTTPField.Name("tracestate")!
}
