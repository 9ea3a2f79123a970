import BedrockAgentRuntime
import CryptoExtras
import ExtrasBase64
import Foundation
import JWTKit
import Synchronization

/// MockBedrock's OIDC issuer: RS256 signing keys made on first use, a JWKS of the current and the
/// previous key, a rotation that makes a new current key, and tokens signed with the current one,
/// so a service run with `AUTH_MODE=jwt` needs no identity provider.
final class OIDCIssuer: Sendable {
    /// A signing key and its public JWK.
    struct SigningKey: Sendable {
        var kid: String
        var privateKey: JWTKit.Insecure.RSA.PrivateKey
        var jwk: [String: String]
    }

    /// The issuer URL when fixed (`MOCK_BEDROCK_OIDC_ISSUER`); else derived from each request's host.
    let fixedIssuer: String?
    /// Keys in the JWKS: the current one (last) and the one before it.
    private let keys = Mutex<[SigningKey]>([])
    private let generation = Atomic<Int>(0)

    init(fixedIssuer: String?) {
        self.fixedIssuer = fixedIssuer
    }

    /// The issuer URL for a request that reached the mock as `host` (its `Host` header).
    func issuer(host: String?) -> String {
        self.fixedIssuer ?? "http://\(host ?? "127.0.0.1:4566")/oidc"
    }

    /// The JWKS document's keys, making the first key if there is none yet.
    func publicKeys() throws -> [[String: String]] {
        try self.current()
        return self.keys.withLock { $0.map(\.jwk) }
    }

    /// Makes a new signing key; the previous one stays in the JWKS (tokens it signed still verify),
    /// the one before that is dropped. Returns the new key's id.
    @discardableResult
    func rotate() throws -> String {
        let key = try self.makeKey()
        self.keys.withLock { keys in
            keys.append(key)
            if keys.count > 2 { keys.removeFirst(keys.count - 2) }
        }
        return key.kid
    }

    /// `claims` signed with the current key, its `kid` in the header.
    func sign(_ claims: [String: JSONValue]) async throws -> String {
        let key = try self.current()
        let collection = JWTKeyCollection()
        await collection.add(rsa: key.privateKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
        return try await collection.sign(ClaimSet(members: claims), kid: JWKIdentifier(string: key.kid))
    }

    /// The current key, made under the lock when there is none yet, so that concurrent first
    /// requests (a JWKS fetch and a token) all see the same first key.
    @discardableResult
    private func current() throws -> SigningKey {
        try self.keys.withLock { keys in
            if let key = keys.last { return key }
            let key = try self.makeKey()
            keys.append(key)
            return key
        }
    }

    private func makeKey() throws -> SigningKey {
        let privateKey = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let primitives = try privateKey.publicKey.getKeyPrimitives()
        let number = self.generation.wrappingAdd(1, ordering: .relaxed).newValue
        let kid =
            "mock-\(number)-" + Base64.encodeToString(bytes: primitives.modulus.suffix(6), options: [.base64UrlAlphabet, .omitPaddingCharacter])
        let jwk = [
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": Base64.encodeToString(bytes: primitives.modulus, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            "e": Base64.encodeToString(bytes: primitives.publicExponent, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
        ]
        return SigningKey(kid: kid, privateKey: privateKey, jwk: jwk)
    }

    /// Any set of claims, as jwt-kit signs them.
    private struct ClaimSet: JWTPayload {
        var members: [String: JSONValue]

        init(members: [String: JSONValue]) { self.members = members }

        init(from decoder: any Decoder) throws {
            self.members = try decoder.singleValueContainer().decode([String: JSONValue].self)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.members)
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }
}
