/// The OIDC issuer whose tokens are accepted (`JWT_ISSUER` and the settings beside it).
public struct JWTSettings: Sendable, Equatable {
    /// `JWT_ISSUER`: tokens' `iss` must equal it; its discovery document names the JWKS.
    public var issuer: String
    /// `JWT_JWKS_URL`: the JWKS, when discovery is not wanted.
    public var jwksURL: String?
    /// `JWT_AUDIENCE`: a token's `aud` (or, without `aud`, Cognito's `client_id`) must be one.
    public var audiences: Set<String>
    /// `JWT_LEEWAY_SECONDS`: how far `exp`, `nbf` and `iat` may be off, for clock skew.
    public var leewaySeconds: Int
    /// `JWT_FORWARD_CLAIMS`: claims put into Bedrock's session attributes as `claim_<name>`.
    public var forwardClaims: [String]

    public init(issuer: String, jwksURL: String? = nil, audiences: Set<String>, leewaySeconds: Int = 60, forwardClaims: [String] = []) {
        self.issuer = issuer
        self.jwksURL = jwksURL
        self.audiences = audiences
        self.leewaySeconds = leewaySeconds
        self.forwardClaims = forwardClaims
    }

    /// The discovery document's URL (OpenID Connect Discovery 1.0, section 4).
    public var discoveryURL: String {
        let base = self.issuer.hasSuffix("/") ? String(self.issuer.dropLast()) : self.issuer
        return base + "/.well-known/openid-configuration"
    }
}
