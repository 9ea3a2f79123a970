import HTTPTypes
import Hummingbird

/// CORS from `ALLOWED_ORIGINS`: `*` allows every origin; a list allows exactly those. Preflights
/// from allowed origins get 204 with the allowed methods and headers; requests from other origins
/// get no CORS headers at all, so browsers refuse them. `X-Request-ID` is exposed to scripts.
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
        let allowed: String?
        switch self.allowedOrigins {
        case .any: allowed = "*"
        case .only(let origins): allowed = origins.contains(origin) ? origin : nil
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [:]
            if let allowed {
                headers[.accessControlAllowOrigin] = allowed
                headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
                headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Content-Type, X-Request-ID"
                headers[.accessControlMaxAge] = "600"
            }
            headers[.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if let allowed {
            response.headers[.accessControlAllowOrigin] = allowed
            response.headers[.accessControlExposeHeaders] = "X-Request-ID"
        }
        response.headers[values: .vary].append("Origin")
        return response
    }
}
