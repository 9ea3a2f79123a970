import HTTPTypes
import Hummingbird

/// CORS from `ALLOWED_ORIGINS`: `*` allows every origin; a list allows exactly those. Preflights
/// from allowed origins get 204 with the allowed methods and headers; requests from other origins
/// get no CORS headers at all, so browsers refuse them. Preflights need no credentials, and allow
/// `Authorization` and `X-API-Key`. `X-Request-ID`, `Retry-After` and `WWW-Authenticate` are
/// exposed to scripts.
///
/// Hummingbird's `CORSMiddleware` takes its list of origins as variadic arguments, which a list read
/// from configuration cannot be passed to, and answers refused origins' preflights with the allowed
/// methods all the same.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: ServiceConfiguration.AllowedOrigins

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = self.allowedValue(for: origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Self.preflightResponse(request, allowed: allowed)
        }
        return Self.withCORSHeaders(try await next(request, context), allowed: allowed)
    }

    // Responses are built out of `handle`'s async frame (ARCHITECTURE.md, "Async frames on the hot path").

    /// The `Access-Control-Allow-Origin` value for `origin`; `nil` when it is not allowed.
    private func allowedValue(for origin: String) -> String? {
        switch self.allowedOrigins {
        case .any: "*"
        case .only(let origins): origins.contains(origin) ? origin : nil
        }
    }

    @inline(never)
    private static func preflightResponse(_ request: Request, allowed: String?) -> Response {
        var headers: HTTPFields = [:]
        if let allowed {
            headers[.accessControlAllowOrigin] = allowed
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] =
                request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type, X-API-Key, X-Request-ID"
            headers[.accessControlMaxAge] = "600"
        }
        headers[.vary] = "Origin"
        return Response(status: .noContent, headers: headers)
    }

    @inline(never)
    private static func withCORSHeaders(_ response: Response, allowed: String?) -> Response {
        var response = response
        if let allowed {
            response.headers[.accessControlAllowOrigin] = allowed
            response.headers[.accessControlExposeHeaders] = "X-Request-ID, Retry-After, WWW-Authenticate"
        }
        response.headers[values: .vary].append("Origin")
        return response
    }
}
