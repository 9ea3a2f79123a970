import HTTPTypes
import Hummingbird

/// CORS from `ALLOWED_ORIGINS`: `*` allows every origin; a list allows exactly those. Preflights
/// from allowed origins get 204 with the allowed methods and headers; requests from other origins
/// get no CORS headers at all, so browsers refuse them. Preflights need no credentials, and allow
/// `Authorization` and `X-API-Key`. `X-Request-ID`, `Retry-After` and `WWW-Authenticate` are
/// exposed to scripts. One of ``ServiceMiddleware``'s policies: ``decision(for:)`` before the
/// handler, ``Decision/applied(to:)`` after it.
///
/// Hummingbird's `CORSMiddleware` takes its list of origins as variadic arguments, which a list read
/// from configuration cannot be passed to, and answers refused origins' preflights with the allowed
/// methods all the same.
struct CORSPolicy: Sendable {
    let allowedOrigins: ServiceConfiguration.AllowedOrigins

    /// What the policy does with one request.
    enum Decision: Sendable {
        /// No `Origin`: not a cross-origin request; the response goes as it is.
        case sameOrigin
        /// A preflight, answered without the handler (``CORSPolicy/preflightResponse(_:)``).
        case preflight
        /// A cross-origin request: its response gets the CORS headers for the allowed origin
        /// (`nil`: not allowed, so only `Vary`).
        case crossOrigin(allowed: String?)

        /// `response` with the headers the decision gives it.
        @inline(never)
        func applied(to response: Response) -> Response {
            guard case .crossOrigin(let allowed) = self else { return response }
            var response = response
            if let allowed {
                response.headers[.accessControlAllowOrigin] = allowed
                response.headers[.accessControlExposeHeaders] = "X-Request-ID, Retry-After, WWW-Authenticate"
            }
            response.headers[values: .vary].append("Origin")
            return response
        }
    }

    @inline(never)
    func decision(for request: Request) -> Decision {
        guard let origin = request.headers[.origin] else { return .sameOrigin }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return .preflight
        }
        return .crossOrigin(allowed: self.allowedValue(for: origin))
    }

    /// The `Access-Control-Allow-Origin` value for `origin`; `nil` when it is not allowed.
    private func allowedValue(for origin: String) -> String? {
        switch self.allowedOrigins {
        case .any: "*"
        case .only(let origins): origins.contains(origin) ? origin : nil
        }
    }

    /// The answer to a preflight (a ``Decision/preflight``): 204, with the allowed methods and
    /// headers when the origin is allowed.
    @inline(never)
    func preflightResponse(_ request: Request) -> Response {
        var headers: HTTPFields = [:]
        if let origin = request.headers[.origin], let allowed = self.allowedValue(for: origin) {
            headers[.accessControlAllowOrigin] = allowed
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] =
                request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type, X-API-Key, X-Request-ID"
            headers[.accessControlMaxAge] = "600"
        }
        headers[.vary] = "Origin"
        return Response(status: .noContent, headers: headers)
    }
}
