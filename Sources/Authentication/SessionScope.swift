import AWSAccess

/// What a principal's request carries to Bedrock: sessions (and memories) of its own, and who it
/// is, in attributes the client cannot forge.
///
/// The Bedrock session id is derived from the principal and the client's `session_id`, so two
/// principals sending the same `session_id` never share a Bedrock session (or its memory), while
/// one principal's `session_id` always maps to the same one, on every task. The derivation is a
/// SHA-256 over length-prefixed fields with a purpose label: no pair of distinct inputs can be
/// made to collide by choosing ids with separators in them, and the result (64 hex digits) is
/// within Bedrock's `[0-9a-zA-Z._:-]{2,100}`.
public enum SessionScope {
    /// Session attributes the service sets from the principal: `principal_id`, `principal_kind`, and `claim_<name>`
    /// for each forwarded claim. Clients' values under these names are dropped whenever access
    /// control is on, so an action group reading them reads what the service proved.
    public static let principalAttribute = "principal_id"
    /// `api_key` or `jwt`: with `AUTH_MODE=api_key,jwt`, an API key's id and a token's `sub` may
    /// be the same text; the two attributes together name the principal.
    public static let principalKindAttribute = "principal_kind"
    public static let claimAttributePrefix = "claim_"

    public static func bedrockSessionId(principal: Principal, sessionId: String) -> String {
        Self.derive("session", principal: principal, value: sessionId)
    }

    public static func bedrockMemoryId(principal: Principal, memoryId: String) -> String {
        Self.derive("memory", principal: principal, value: memoryId)
    }

    /// `attributes` without the names the service reserves.
    public static func withoutReserved(_ attributes: [String: String]?) -> [String: String]? {
        attributes?.filter { !Self.isReserved($0.key) }
    }

    /// The client's session attributes, less the reserved names, with the principal's.
    public static func sessionAttributes(_ attributes: [String: String]?, principal: Principal) -> [String: String] {
        var scoped = Self.withoutReserved(attributes) ?? [:]
        scoped[Self.principalAttribute] = principal.id
        scoped[Self.principalKindAttribute] = principal.kind.rawValue
        scoped.merge(principal.forwardedClaims) { _, proven in proven }
        return scoped
    }

    /// Compared byte for byte: Swift's `==` and `hasPrefix` compare characters, and
    /// `"claim_\u{301}x"` does not begin with the character `_` for them, while it does for the
    /// JSON an action group reads.
    public static func isReserved(_ name: String) -> Bool {
        name.utf8.elementsEqual(Self.principalAttribute.utf8) || name.utf8.elementsEqual(Self.principalKindAttribute.utf8)
            || name.utf8.starts(with: Self.claimAttributePrefix.utf8)
    }

    private static func derive(_ purpose: String, principal: Principal, value: String) -> String {
        var input: [UInt8] = Array("bedrock-agent-streaming/\(purpose)/v1".utf8)
        for field in [principal.kind.rawValue, principal.id, value] {
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { input.append(contentsOf: $0) }
            input.append(contentsOf: bytes)
        }
        return Hashing.hex(Hashing.sha256(input))
    }
}
