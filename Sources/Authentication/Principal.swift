/// Who is asking: an API key's holder or a token's subject, once proven (``PrincipalAuthenticator``).
public struct Principal: Sendable, Hashable {
    /// How the principal proved who it is.
    public enum Kind: String, Sendable {
        case apiKey = "api_key"
        case jwt
    }

    public var kind: Kind
    /// The API key's `id`, or the token's `sub`: on log lines and in Bedrock's `principal_id`.
    public var id: String
    /// The agents this principal may invoke, when narrower than `ALLOWED_AGENT_IDS`.
    public var agents: Set<String>?
    /// The token's claims named in `JWT_FORWARD_CLAIMS`, as session attributes (`claim_<name>`).
    public var forwardedClaims: [String: String] = [:]

    public init(kind: Kind, id: String, agents: Set<String>? = nil, forwardedClaims: [String: String] = [:]) {
        self.kind = kind
        self.id = id
        self.agents = agents
        self.forwardedClaims = forwardedClaims
    }

    /// One name for the principal across kinds, so an API key `alice` and a token for `sub`
    /// `alice` are two principals (in limits and in Bedrock sessions).
    public var scopedId: String { "\(self.kind.rawValue):\(self.id)" }
}
