import Authentication
import Foundation

/// Who may invoke agents: `AUTH_MODE` and the settings of each way of proving it (README,
/// "Access control"). Invalid combinations stop start-up, naming the variable.
struct AuthConfiguration: Sendable, Equatable {
    /// A way a caller proves who it is.
    enum Method: String, Sendable, CaseIterable {
        /// `X-API-Key: <key>`, checked against `API_KEYS_FILE`.
        case apiKey = "api_key"
        /// `Authorization: Bearer <jwt>` from the OIDC issuer `JWT_ISSUER`.
        case jwt
    }

    /// Empty with `AUTH_MODE=none`: every caller is anonymous.
    var methods: Set<Method> = []
    /// `API_KEYS_FILE`, with `api_key`.
    var apiKeysFile: String?
    /// With `jwt`.
    var jwt: JWTSettings?
    /// `PRINCIPAL_MAX_STREAMS`: one principal's streams at once.
    var principalMaxStreams = 10
    /// `PRINCIPAL_REQUESTS_PER_MINUTE`: one principal's requests, as a token bucket of this size
    /// refilled at this rate.
    var principalRequestsPerMinute = 120
    /// `PRINCIPAL_TOKENS_PER_HOUR`: one principal's model tokens (input and output) an hour, as a
    /// bucket of this size refilled at this rate; new streams are refused while it is spent.
    /// `nil` (unset): no budget.
    var principalTokensPerHour: Int?

    /// `AUTH_MODE` as normalised: `none`, `api_key`, `jwt` or `api_key,jwt`.
    var modeName: String {
        self.methods.isEmpty ? "none" : Method.allCases.filter(self.methods.contains).map(\.rawValue).joined(separator: ",")
    }

    /// Whether callers must prove who they are.
    var isRequired: Bool { !self.methods.isEmpty }

    init() {}

    init(reader: SettingReader) throws(ConfigurationError) {
        self.methods = try Self.methods(reader.text("AUTH_MODE") ?? "none")
        self.principalMaxStreams = try reader.integer("PRINCIPAL_MAX_STREAMS", in: 1...1_000_000) ?? self.principalMaxStreams
        self.principalRequestsPerMinute =
            try reader.integer("PRINCIPAL_REQUESTS_PER_MINUTE", in: 1...1_000_000) ?? self.principalRequestsPerMinute
        self.principalTokensPerHour = try reader.integer("PRINCIPAL_TOKENS_PER_HOUR", in: 1...1_000_000_000_000)

        let mode = self.modeName
        if self.principalTokensPerHour != nil, self.methods.isEmpty {
            throw ConfigurationError(
                source: "PRINCIPAL_TOKENS_PER_HOUR",
                problem: "is set, but AUTH_MODE=none has no principals to give budgets to; set AUTH_MODE to api_key and/or jwt"
            )
        }
        let keysFile = try reader.text("API_KEYS_FILE")
        if self.methods.contains(.apiKey) {
            guard let keysFile else {
                throw ConfigurationError(source: "API_KEYS_FILE", problem: "is required with AUTH_MODE=\(mode): the file of API key hashes")
            }
            self.apiKeysFile = keysFile
        } else if keysFile != nil {
            throw ConfigurationError(
                source: "API_KEYS_FILE",
                problem: "is set, but AUTH_MODE=\(mode) does not accept API keys; add api_key to AUTH_MODE"
            )
        }

        let issuer = try reader.text("JWT_ISSUER")
        guard self.methods.contains(.jwt) else {
            for name in ["JWT_ISSUER", "JWT_JWKS_URL", "JWT_AUDIENCE", "JWT_LEEWAY_SECONDS", "JWT_FORWARD_CLAIMS"]
            where reader.environment[name] != nil {
                throw ConfigurationError(source: name, problem: "is set, but AUTH_MODE=\(mode) does not accept tokens; add jwt to AUTH_MODE")
            }
            return
        }
        guard let issuer else {
            throw ConfigurationError(
                source: "JWT_ISSUER",
                problem: "is required with AUTH_MODE=\(mode): the OIDC issuer URL, such as https://cognito-idp.REGION.amazonaws.com/POOL_ID"
            )
        }
        try Self.checkURL(issuer, "JWT_ISSUER")
        let jwksURL = try reader.text("JWT_JWKS_URL")
        if let jwksURL { try Self.checkURL(jwksURL, "JWT_JWKS_URL") }
        guard let audienceText = try reader.text("JWT_AUDIENCE") else {
            throw ConfigurationError(
                source: "JWT_AUDIENCE",
                problem: "is required with AUTH_MODE=\(mode): the audiences (or Cognito app client ids) tokens must be issued for"
            )
        }
        let audiences = Self.list(audienceText)
        guard !audiences.isEmpty else {
            throw ConfigurationError(source: "JWT_AUDIENCE", problem: "names no audience")
        }
        var settings = JWTSettings(issuer: issuer, jwksURL: jwksURL, audiences: Set(audiences))
        settings.leewaySeconds = try reader.integer("JWT_LEEWAY_SECONDS", in: 0...600) ?? settings.leewaySeconds
        if let claims = reader.environment["JWT_FORWARD_CLAIMS"] {
            settings.forwardClaims = try Self.claimNames(claims)
        }
        self.jwt = settings
    }

    private static func methods(_ text: String) throws(ConfigurationError) -> Set<Method> {
        let names = Self.list(text).map { $0.lowercased() }
        if names == ["none"] { return [] }
        var methods: Set<Method> = []
        for name in names {
            guard let method = Method(rawValue: name) else {
                throw ConfigurationError(
                    source: "AUTH_MODE",
                    problem: "must be none, api_key, jwt or api_key,jwt, got '\(text)'"
                )
            }
            methods.insert(method)
        }
        guard !methods.isEmpty else {
            throw ConfigurationError(source: "AUTH_MODE", problem: "must be none, api_key, jwt or api_key,jwt, got '\(text)'")
        }
        return methods
    }

    /// An issuer or JWKS URL: https, or http to this machine only (a local issuer such as
    /// MockBedrock's), with no query or fragment.
    private static func checkURL(_ text: String, _ name: String) throws(ConfigurationError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
            url.query == nil, url.fragment == nil
        else {
            throw ConfigurationError(source: name, problem: "must be an https URL without query or fragment, got '\(text)'")
        }
        guard scheme == "https" || (scheme == "http" && ServiceConfiguration.isLoopback(host)) else {
            throw ConfigurationError(
                source: name,
                problem: "must be an https URL (http is accepted only for 127.0.0.1 and localhost), got '\(text)'"
            )
        }
    }

    /// `JWT_FORWARD_CLAIMS`: claim names such as `email` or `cognito:groups`.
    private static func claimNames(_ text: String) throws(ConfigurationError) -> [String] {
        let names = Self.list(text)
        guard names.count <= 20 else {
            throw ConfigurationError(source: "JWT_FORWARD_CLAIMS", problem: "names \(names.count) claims; at most 20 are forwarded")
        }
        for name in names {
            let allowed = name.utf8.count <= 64 && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }
            guard allowed else {
                throw ConfigurationError(
                    source: "JWT_FORWARD_CLAIMS",
                    problem: "holds '\(name)', which is not a claim name (up to 64 printable ASCII characters)"
                )
            }
        }
        return Array(Set(names)).sorted()
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
