import Authentication
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging

/// Finds the caller's principal (hummingbird-auth's `AuthenticatorMiddleware`): an `X-API-Key`
/// from `API_KEYS_FILE`, or an `Authorization: Bearer` token from `JWT_ISSUER`, whichever
/// `AUTH_MODE` accepts. Credentials that are present but prove nothing are refused here (401
/// `invalid_credentials`); absent ones leave the context without identity, for
/// ``PrincipalPolicyMiddleware`` to refuse.
struct PrincipalAuthenticator: AuthenticatorMiddleware {
    typealias Context = ServiceRequestContext
    typealias Identity = Principal

    let methods: Set<AuthConfiguration.Method>
    let apiKeys: APIKeyStore?
    let jwt: JWTVerifier?
    let metrics: ServiceMetrics

    func authenticate(request: Request, context: Context) async throws -> Principal? {
        do {
            if self.methods.contains(.apiKey), let apiKeys, let key = request.headers[.xAPIKey] {
                guard let entry = apiKeys.entry(forKey: key) else {
                    throw AuthFailure(.unknownAPIKey, "The API key is not recognised.")
                }
                return Principal(kind: .apiKey, id: entry.id, agents: entry.agents)
            }
            if self.methods.contains(.jwt), let jwt, let authorization = request.headers[.authorization] {
                guard let token = Self.bearerToken(authorization) else {
                    throw AuthFailure(.malformed, "The Authorization header must be 'Bearer <token>'.")
                }
                return try await jwt.principal(for: token)
            }
            return nil
        } catch let failure as AuthFailure {
            self.metrics.countAuthFailure(reason: failure.reason.rawValue)
            if failure.reason == .keysUnavailable {
                throw APIError.authenticationUnavailable
            }
            throw APIError.invalidCredentials(failure.message)
        }
    }

    /// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110, section 11.1).
    static func bearerToken(_ authorization: String) -> String? {
        let scheme = "bearer "
        // Letters compare without case; the space must be a space.
        func matches(_ byte: UInt8, _ expected: UInt8) -> Bool {
            expected == UInt8(ascii: " ") ? byte == expected : (byte | 0x20) == expected
        }
        guard authorization.utf8.count > scheme.utf8.count,
            authorization.utf8.prefix(scheme.utf8.count).elementsEqual(scheme.utf8, by: matches)
        else { return nil }
        return String(authorization.utf8.dropFirst(scheme.utf8.count).drop(while: { $0 == UInt8(ascii: " ") }))
    }
}

/// After ``PrincipalAuthenticator``: refuses a request without principal when `AUTH_MODE` needs
/// one (401 `authentication_required`), takes one request from the principal's
/// `PRINCIPAL_REQUESTS_PER_MINUTE` (429 `rate_limited` beyond it), and puts the principal's id
/// on the log lines of the rest of the request (its stream's, its refusals').
struct PrincipalPolicyMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let methods: Set<AuthConfiguration.Method>
    let limits: PrincipalLimits
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let context = try self.admitted(context)
        do {
            return try await next(request, context)
        } catch {
            // Rendered here rather than by the outer ``APIErrorMiddleware``, so that the refusal's
            // log line (a 400, a 403 for an agent, a 429 for streams) names the principal.
            return APIErrorMiddleware.response(to: error, context: context)
        }
    }

    @inline(never)
    private func admitted(_ context: Context) throws -> Context {
        guard let principal = context.identity else {
            guard self.methods.isEmpty else {
                self.metrics.countAuthFailure(reason: AuthFailure.Reason.missing.rawValue)
                throw APIError.authenticationRequired(methods: self.methods)
            }
            return context
        }
        do {
            try self.limits.admitRequest(principal)
        } catch {
            self.metrics.countRateLimited(limit: "requests")
            throw APIError.rateLimited(
                "More than \(self.limits.requestsPerMinute) requests a minute from this principal; retry later.",
                retryAfterSeconds: error.retryAfterSeconds
            )
        }
        var context = context
        context.logger[metadataKey: "principal_id"] = .string(principal.id)
        context.logger[metadataKey: "auth_method"] = .string(principal.kind.rawValue)
        return context
    }
}

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("X-API-Key")!
}
