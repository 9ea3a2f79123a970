import Authentication
import HTTPTypes
import Hummingbird
import Logging

/// Finds the caller's principal: an `X-API-Key` from `API_KEYS_FILE`, or an `Authorization:
/// Bearer` token from `JWT_ISSUER`, whichever `AUTH_MODE` accepts. Credentials that are present but
/// prove nothing are refused here (401 `invalid_credentials`); absent ones give no principal, for
/// ``PrincipalAdmission`` (which calls this before the route reads a body) to refuse. The found
/// principal becomes the context's identity (hummingbird-auth's `AuthRequestContext`).
struct PrincipalAuthenticator: Sendable {
    typealias Context = ServiceRequestContext

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

/// The access control of the routes that invoke agents, which ``StreamRoute`` asks before it
/// reads a body: ``PrincipalAuthenticator`` finds the caller's principal, then the request is
/// refused without one when `AUTH_MODE` needs one (401 `authentication_required`), takes one
/// request from the principal's `PRINCIPAL_REQUESTS_PER_MINUTE` (429 `rate_limited` beyond it),
/// and has the principal's id on the log lines of the rest of the request (its stream's, its
/// refusals').
///
/// Asked by the route rather than put in front of it as a middleware: a middleware is two async
/// frames (its own and Hummingbird's responder) that stay on the connection's task while the
/// route runs, and the task keeps the allocator slabs of its deepest frames for as long as the
/// connection lives (ARCHITECTURE.md, "Async frames on the hot path"); this one's frames are
/// gone before the route reads the body.
struct PrincipalAdmission: Sendable {
    typealias Context = ServiceRequestContext

    let authenticator: PrincipalAuthenticator
    let limits: PrincipalLimits

    /// `context` with the request's principal, once authenticated and admitted.
    func admitted(_ request: Request, context: Context) async throws -> Context {
        try self.admitted(try await self.authenticator.authenticate(request: request, context: context), context: context)
    }

    @inline(never)
    private func admitted(_ principal: Principal?, context: Context) throws -> Context {
        guard let principal else {
            guard self.authenticator.methods.isEmpty else {
                self.authenticator.metrics.countAuthFailure(reason: AuthFailure.Reason.missing.rawValue)
                throw APIError.authenticationRequired(methods: self.authenticator.methods)
            }
            return context
        }
        do {
            try self.limits.admitRequest(principal)
        } catch {
            self.authenticator.metrics.countRateLimited(limit: "requests")
            throw APIError.rateLimited(
                "More than \(self.limits.requestsPerMinute) requests a minute from this principal; retry later.",
                retryAfterSeconds: error.retryAfterSeconds
            )
        }
        var context = context
        context.identity = principal
        context.logger[metadataKey: "principal_id"] = .string(principal.id)
        context.logger[metadataKey: "auth_method"] = .string(principal.kind.rawValue)
        return context
    }
}

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("X-API-Key")!
}
