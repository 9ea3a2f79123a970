import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import ExtrasBase64
import Foundation
import JWTKit
import Logging
import Synchronization

/// Checks bearer tokens from `JWT_ISSUER`. The signature is verified by jwt-kit with a key of
/// the issuer's JWKS (``JWKSSource``); before that the service refuses what jwt-kit would let
/// through or handle loosely (an algorithm outside ``JWKSSource/acceptedAlgorithms``, a key id
/// the set lacks, which jwt-kit would answer with its default key, an algorithm the key was not
/// made for); after it, the claims: `iss`, the audience, `exp`/`nbf`/`iat` with the leeway,
/// `token_use`, `sub`.
///
/// A token verified once is remembered until it expires (``VerifiedTokens``): a frontend sends
/// the same token for every message of a conversation, and a repeat costs a hash and a lookup,
/// not an RSA verification. The memory is cleared whenever the key set changes (not when an
/// unchanged set is fetched again).
public final class JWTVerifier: Sendable {
    /// The longest token read; a longer one is refused before any decoding.
    public static let maximumTokenBytes = 8_192

    public let settings: JWTSettings
    public let keys: JWKSSource
    private let verified: VerifiedTokens
    private let now: @Sendable () -> Double

    /// `verified` must be emptied by `keys` whenever its key set changes (``JWKSSource``'s
    /// `onChange`, with the new set's version as the generation).
    public init(
        settings: JWTSettings,
        keys: JWKSSource,
        verified: VerifiedTokens,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.settings = settings
        self.keys = keys
        self.verified = verified
        self.now = now
    }

    /// A verifier and its key source for `settings`, wired so that a new key set clears the tokens
    /// verified with the old one.
    public static func make(settings: JWTSettings, httpClient: HTTPClient, logger: Logger) -> JWTVerifier {
        let verified = VerifiedTokens(capacity: 10_000)
        let keys = JWKSSource(settings: settings, httpClient: httpClient, logger: logger) { verified.removeAll(startingGeneration: $0) }
        return JWTVerifier(settings: settings, keys: keys, verified: verified)
    }

    /// The principal the token proves, or why it proves none.
    public func principal(for token: String) async throws(AuthFailure) -> Principal {
        guard token.utf8.count <= Self.maximumTokenBytes else {
            throw AuthFailure(.malformed, "The bearer token is longer than \(Self.maximumTokenBytes) bytes.")
        }
        let leeway = Double(self.settings.leewaySeconds)
        let digest = VerifiedTokens.digest(of: token)
        if let known = self.verified.lookup(digest) {
            try Self.checkTime(known.times, now: self.now(), leeway: leeway)
            return known.principal
        }
        let header = try Self.header(of: token)
        let key: JWKSSource.Key
        let collection: JWTKeyCollection
        let version: Int
        switch await self.keys.lookup(kid: header.kid) {
        case .found(let found, let keys, let setVersion):
            (key, collection, version) = (found, keys, setVersion)
        case .unknownKey:
            throw AuthFailure(.unknownKey, "The bearer token is signed with a key the issuer does not publish.")
        case .unavailable:
            throw AuthFailure(.keysUnavailable, "The issuer's signing keys cannot be fetched; retry shortly.")
        }
        guard key.accepts(header.algorithm) else {
            throw AuthFailure(.algorithm, "The bearer token's algorithm does not match its signing key.")
        }
        do {
            _ = try await collection.verify(token, as: SignedPayload.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw AuthFailure(.badSignature, "The bearer token's signature is not valid.")
        } catch {
            throw AuthFailure(.malformed, "The bearer token's claims cannot be read.")
        }
        let checked = try self.check(Self.claims(of: token))
        try Self.checkTime(checked.times, now: self.now(), leeway: leeway)
        // Remembered only if the key set it was verified with is still the one in force.
        self.verified.insert(digest, checked, generation: version)
        return checked.principal
    }

    /// The header fields read before verification.
    public struct Header: Equatable {
        public var algorithm: String
        public var kid: String
    }

    /// The token's header: three base64url parts, a JSON header naming an accepted `alg` and a `kid`.
    public static func header(of token: String) throws(AuthFailure) -> Header {
        let parts = Self.parts(of: token)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw AuthFailure(.malformed, "The bearer token is not a signed JWT (three dot-separated parts).")
        }
        guard case .object(let fields)? = Self.json(parts[0]) else {
            throw AuthFailure(.malformed, "The bearer token's header is not base64url-encoded JSON.")
        }
        guard case .string(let algorithm)? = fields["alg"], JWKSSource.acceptedAlgorithms.contains(algorithm) else {
            throw AuthFailure(.algorithm, "The bearer token's algorithm is not accepted (RS256, RS384, RS512, ES256 and ES384 are).")
        }
        guard case .string(let kid)? = fields["kid"], !kid.isEmpty else {
            throw AuthFailure(.malformed, "The bearer token's header names no signing key (kid).")
        }
        return Header(algorithm: algorithm, kid: kid)
    }

    /// What is remembered of a verified token.
    public struct Checked: Sendable {
        public var principal: Principal
        public var times: Times
    }

    /// The token's time claims, in seconds since 1970.
    public struct Times: Sendable, Equatable {
        public var expires: Double
        public var notBefore: Double?
        public var issued: Double?
    }

    /// The claims that make the token this service's: issuer, audience, use, subject.
    public func check(_ claims: [String: JSONValue]) throws(AuthFailure) -> Checked {
        guard case .string(let issuer)? = claims["iss"], issuer == self.settings.issuer else {
            throw AuthFailure(.wrongIssuer, "The bearer token was issued by another issuer.")
        }
        let tokenUse = claims["token_use"]
        if let tokenUse, tokenUse != .string("access"), tokenUse != .string("id") {
            throw AuthFailure(.tokenUse, "The bearer token is neither an access nor an ID token (token_use).")
        }
        guard self.audienceMatches(claims) else {
            throw AuthFailure(.wrongAudience, "The bearer token was issued for another audience.")
        }
        guard case .string(let subject)? = claims["sub"], (1...256).contains(subject.utf8.count) else {
            throw AuthFailure(.malformed, "The bearer token names no subject (sub).")
        }
        guard case .number(let expires)? = claims["exp"] else {
            throw AuthFailure(.malformed, "The bearer token has no expiry (exp).")
        }
        var times = Times(expires: expires)
        for (name, path) in [("nbf", \Times.notBefore), ("iat", \Times.issued)] {
            switch claims[name] {
            case nil: break
            case .number(let value)?: times[keyPath: path] = value
            default: throw AuthFailure(.malformed, "The bearer token's \(name) is not a number.")
            }
        }
        var principal = Principal(kind: .jwt, id: subject)
        for name in self.settings.forwardClaims {
            guard let value = claims[name] else { continue }
            principal.forwardedClaims["claim_\(name)"] = Self.attributeText(value)
        }
        return Checked(principal: principal, times: times)
    }

    /// `aud` (a string or a list) names a configured audience; a token without `aud` (Cognito's
    /// access tokens) is matched by its `client_id`.
    private func audienceMatches(_ claims: [String: JSONValue]) -> Bool {
        switch claims["aud"] {
        case .string(let audience)?:
            return self.settings.audiences.contains(audience)
        case .array(let audiences)?:
            return audiences.contains { $0.stringValue.map(self.settings.audiences.contains) ?? false }
        case nil:
            return claims["client_id"]?.stringValue.map(self.settings.audiences.contains) ?? false
        default:
            return false
        }
    }

    /// `exp`, `nbf` and `iat` against the clock, each allowed `leeway` seconds of skew.
    public static func checkTime(_ times: Times, now: Double, leeway: Double) throws(AuthFailure) {
        guard now <= times.expires + leeway else {
            throw AuthFailure(.expired, "The bearer token has expired.")
        }
        if let notBefore = times.notBefore, now + leeway < notBefore {
            throw AuthFailure(.notYetValid, "The bearer token is not valid yet (nbf).")
        }
        if let issued = times.issued, now + leeway < issued {
            throw AuthFailure(.notYetValid, "The bearer token was issued in the future (iat).")
        }
    }

    /// A claim as a session attribute: strings as they are, anything else as compact JSON
    /// (`["admins","users"]` for Cognito's groups).
    public static func attributeText(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        guard let data = try? JSONEncoder.sortedKeys.encode(value) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The payload as jwt-kit sees it: nothing is decoded into it. Once jwt-kit has verified the
    /// signature, the claims are read by ``claims(of:)`` with the project's strict parser (depth
    /// and size bounded, several times faster than a `Decodable` walk into `JSONValue`) and
    /// checked by ``check(_:)``.
    struct SignedPayload: JWTPayload {
        init(from decoder: any Decoder) throws {}
        func encode(to encoder: any Encoder) throws {}
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// The claims of a token whose signature has been verified.
    public static func claims(of token: String) throws(AuthFailure) -> [String: JSONValue] {
        let parts = Self.parts(of: token)
        guard parts.count == 3, case .object(let claims)? = Self.json(parts[1]) else {
            throw AuthFailure(.malformed, "The bearer token's claims are not a JSON object.")
        }
        return claims
    }

    /// The token's dot-separated parts, as byte arrays.
    private static func parts(of token: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(token.utf8)
        return bytes.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
    }

    /// A base64url part decoded and parsed as strict JSON, or `nil`.
    private static func json(_ part: ArraySlice<UInt8>) -> JSONValue? {
        part.withUnsafeBufferPointer { encoded in
            guard let decoded = try? Base64.decode(bytes: encoded, options: [.base64UrlAlphabet, .omitPaddingCharacter]) else {
                return nil
            }
            return try? decoded.withUnsafeBytes { buffer throws(StrictJSONParser.Error) in try StrictJSONParser.parse(buffer) }
        }
    }
}

/// Tokens already verified, by the SHA-256 of their text (the tokens themselves are not kept),
/// until they expire; at most `capacity`, past which the expired ones, then all, are dropped.
/// Entries belong to a generation, the version of the key set they were verified with: a new set
/// (``removeAll(startingGeneration:)``) drops them, and a verification that began with the old
/// set and ends after the new one came is not kept.
public final class VerifiedTokens: Sendable {
    private struct State {
        var entries: [[UInt8]: JWTVerifier.Checked] = [:]
        var generation = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public static func digest(of token: String) -> [UInt8] {
        Hashing.sha256(Array(token.utf8))
    }

    public func lookup(_ digest: [UInt8]) -> JWTVerifier.Checked? {
        self.state.withLock { $0.entries[digest] }
    }

    /// Keeps `checked`, verified with the key set of version `generation`, if that set is still
    /// the one in force.
    public func insert(_ digest: [UInt8], _ checked: JWTVerifier.Checked, generation: Int) {
        let now = Date().timeIntervalSince1970
        self.state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= self.capacity {
                state.entries = state.entries.filter { $0.value.times.expires > now }
                if state.entries.count >= self.capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[digest] = checked
        }
    }

    /// Forgets every entry: the key set of version `generation` is now in force.
    public func removeAll(startingGeneration generation: Int) {
        self.state.withLock { state in
            state.entries.removeAll()
            state.generation = generation
        }
    }

    public var count: Int { self.state.withLock { $0.entries.count } }
}

/// Why a caller's credentials prove no principal: `reason` labels `http_auth_failures_total`;
/// `message` tells the caller in general terms, never echoing the credential.
public struct AuthFailure: Error, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        case missing
        case malformed
        case unknownAPIKey = "unknown_api_key"
        case algorithm
        case unknownKey = "unknown_key"
        case badSignature = "bad_signature"
        case expired
        case notYetValid = "not_yet_valid"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case tokenUse = "token_use"
        case keysUnavailable = "keys_unavailable"
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }
}
