import AsyncHTTPClient
import Authentication
import Hummingbird
import Logging
import ServiceLifecycle

/// Access control assembled from ``AuthConfiguration``: the API keys and the token verifier in
/// use, the per-principal limits, and the admission that routes invoking agents ask first.
struct AccessControl: Sendable {
    let configuration: AuthConfiguration
    let apiKeys: APIKeyStore?
    let jwt: JWTVerifier?
    let limits: PrincipalLimits
    let logger: Logger

    /// Reads `API_KEYS_FILE` (an error names it) and sets up the verifier; nothing is fetched yet.
    init(configuration: AuthConfiguration, httpClient: HTTPClient, logger: Logger) throws(ConfigurationError) {
        self.configuration = configuration
        self.logger = logger
        if let path = configuration.apiKeysFile {
            do {
                self.apiKeys = try APIKeyStore(path: path, logger: logger)
            } catch {
                throw ConfigurationError(source: "API_KEYS_FILE", problem: "(\(path)) \(error.problem)")
            }
        } else {
            self.apiKeys = nil
        }
        self.jwt = configuration.jwt.map { JWTVerifier.make(settings: $0, httpClient: httpClient, logger: logger) }
        self.limits = PrincipalLimits(
            maxStreams: configuration.principalMaxStreams,
            requestsPerMinute: configuration.principalRequestsPerMinute,
            tokensPerHour: configuration.principalTokensPerHour
        )
    }

    /// What routes that need a principal (when `AUTH_MODE` is not `none`) ask first.
    func admission(metrics: ServiceMetrics) -> PrincipalAdmission {
        PrincipalAdmission(
            authenticator: PrincipalAuthenticator(methods: self.configuration.methods, apiKeys: self.apiKeys, jwt: self.jwt, metrics: metrics),
            limits: self.limits
        )
    }

    /// The services that keep credentials current: SIGHUP (reloads of the API keys), the JWKS
    /// fetch at start and its hourly refresh.
    var services: [any Service] {
        var services: [any Service] = [APIKeyReloader(store: self.apiKeys, logger: self.logger)]
        if let jwt { services.append(JWKSRefresher(source: jwt.keys)) }
        return services
    }
}

/// Fetches the JWKS at start (a failure is logged, not fatal: the first token with a key id
/// fetches again), then every ``interval``, so keys the issuer withdrew stop being accepted.
struct JWKSRefresher: Service {
    let source: JWKSSource
    var interval: Duration = .seconds(3_600)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await self.source.refresh()
            while true {
                try await Task.sleep(for: self.interval)
                await self.source.refresh()
            }
        }
    }
}
