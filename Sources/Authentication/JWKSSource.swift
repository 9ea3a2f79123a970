import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import JWTKit
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The issuer's signing keys: found through `ISSUER/.well-known/openid-configuration`'s
/// `jwks_uri` (or `JWT_JWKS_URL`), fetched at start, kept, and fetched again when a token names
/// a key id the set does not hold, at most once per ``minimumRefetchInterval``: a key rotated in
/// is picked up without a restart, and tokens with forged key ids cannot make the service hammer
/// the issuer. Concurrent lookups share one fetch.
public actor JWKSSource {
    /// A verification key of the set, as far as the service checks it before verifying.
    public struct Key: Sendable, Equatable {
        /// `RSA` or `EC`.
        public var keyType: String
        /// `P-256` or `P-384` for EC keys.
        public var curve: String?
        /// The key's `alg`, when the set names one.
        public var algorithm: String?

        /// Whether the service can verify with this key at all: RSA, or EC on P-256 or P-384, with
        /// no `alg` or an accepted one.
        public var isUsable: Bool {
            guard self.algorithm.map(JWKSSource.acceptedAlgorithms.contains) ?? true else { return false }
            switch self.keyType {
            case "RSA": return true
            case "EC": return self.curve == "P-256" || self.curve == "P-384"
            default: return false
            }
        }

        /// Whether a token signed with `algorithm` (already one of the accepted ones) can come from this key.
        public func accepts(_ algorithm: String) -> Bool {
            if let own = self.algorithm, own != algorithm { return false }
            switch (self.keyType, algorithm) {
            case ("RSA", "RS256"), ("RSA", "RS384"), ("RSA", "RS512"): return true
            case ("EC", "ES256"): return self.curve == "P-256"
            case ("EC", "ES384"): return self.curve == "P-384"
            default: return false
            }
        }
    }

    /// The keys in force: jwt-kit's collection, and what the service checks of each by id.
    public struct KeySet: Sendable {
        public var collection: JWTKeyCollection
        public var keys: [String: Key]
        /// The usable keys' JSON, sorted: equal for two fetches of an unchanged set.
        public var fingerprint: String
    }

    public enum Lookup: Sendable {
        /// The key, the collection to verify with, and the version of the set they belong to.
        case found(Key, JWTKeyCollection, version: Int)
        /// The set, fetched again if allowed, holds no key of that id.
        case unknownKey
        /// No key set could be fetched at all.
        case unavailable
    }

    /// The signing algorithms accepted: RSA PKCS #1 and ECDSA. Never `none`, and never HMAC, so
    /// a public key can never be used as a shared secret.
    public static let acceptedAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "ES256", "ES384"]
    /// The largest discovery document or key set read.
    public static let maximumDocumentBytes = 1_048_576

    public let settings: JWTSettings
    public let minimumRefetchInterval: Duration
    public let fetchTimeout: Duration
    private let httpClient: HTTPClient
    private let logger: Logger
    private var keySet: KeySet?
    private var jwksURL: String?
    private var lastFetch: ContinuousClock.Instant?
    private var fetching: Task<Void, Never>?
    /// Called with the new version after each key set is put in force (the verifier forgets what
    /// it verified with the old one).
    private let onChange: @Sendable (Int) -> Void
    /// Counts the key sets put in force.
    private var version = 0

    public init(
        settings: JWTSettings,
        httpClient: HTTPClient,
        minimumRefetchInterval: Duration = .seconds(10),
        fetchTimeout: Duration = .seconds(5),
        logger: Logger,
        onChange: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.onChange = onChange
        self.settings = settings
        self.httpClient = httpClient
        self.minimumRefetchInterval = minimumRefetchInterval
        self.fetchTimeout = fetchTimeout
        self.jwksURL = settings.jwksURL
        self.logger = logger
    }

    /// The key `kid`, fetching the set again first when it is not known and the last fetch is
    /// at least ``minimumRefetchInterval`` old.
    public func lookup(kid: String) async -> Lookup {
        if let keySet, let key = keySet.keys[kid] {
            return .found(key, keySet.collection, version: self.version)
        }
        if let fetching {
            await fetching.value
        } else if self.lastFetch.map({ ContinuousClock.now - $0 >= self.minimumRefetchInterval }) ?? true {
            await self.refresh()
        }
        guard let keySet else { return .unavailable }
        guard let key = keySet.keys[kid] else { return .unknownKey }
        return .found(key, keySet.collection, version: self.version)
    }

    /// Fetches the key set (joining a fetch under way); a failure is logged and keeps the keys in force.
    public func refresh() async {
        if let fetching {
            await fetching.value
            return
        }
        let task = Task { await self.fetchAndInstall() }
        self.fetching = task
        await task.value
        self.fetching = nil
    }

    /// The number of keys in force, for `/health` and tests.
    public var keyCount: Int { self.keySet?.keys.count ?? 0 }

    private func fetchAndInstall() async {
        self.lastFetch = .now
        do {
            let url = try await self.resolvedJWKSURL()
            let document = try await self.fetchJSON(url, what: "the JWKS")
            try await self.install(document, from: url)
        } catch {
            self.logger.error(
                "JWKS not fetched; the keys in force are kept",
                metadata: ["issuer": .string(self.settings.issuer), "error": .string("\(error)"), "keys": .stringConvertible(self.keyCount)]
            )
        }
    }

    /// Puts the usable keys of a JWKS document in force (``keySet(from:logger:)``), replacing the
    /// previous set; a document without a usable key is an error and changes nothing.
    public func install(_ document: JSONValue, from source: String) async throws {
        let keySet = try await Self.keySet(from: document, logger: self.logger)
        // An unchanged set (the hourly refresh, a refetch for a forged kid) changes nothing:
        // tokens verified with it stay remembered.
        guard keySet.fingerprint != self.keySet?.fingerprint else { return }
        self.keySet = keySet
        self.version += 1
        self.onChange(self.version)
        self.logger.notice(
            "JWKS loaded",
            metadata: [
                "jwks_url": .string(source), "keys": .stringConvertible(keySet.keys.count),
                "key_ids": .string(keySet.keys.keys.sorted().joined(separator: ",")),
            ]
        )
    }

    /// `JWT_JWKS_URL`, or the discovery document's `jwks_uri`, found once.
    private func resolvedJWKSURL() async throws -> String {
        if let jwksURL { return jwksURL }
        let document = try await self.fetchJSON(self.settings.discoveryURL, what: "the OpenID configuration")
        guard case .string(let issuer)? = document["issuer"], issuer == self.settings.issuer else {
            throw JWKSError("the OpenID configuration at \(self.settings.discoveryURL) names another issuer than JWT_ISSUER")
        }
        guard case .string(let uri)? = document["jwks_uri"], let url = URL(string: uri), let scheme = url.scheme?.lowercased(),
            scheme == "https" || (scheme == "http" && self.settings.issuer.lowercased().hasPrefix("http://"))
        else {
            throw JWKSError("the OpenID configuration at \(self.settings.discoveryURL) has no usable https jwks_uri")
        }
        self.jwksURL = uri
        return uri
    }

    /// The JSON document at `url`, read whole within ``fetchTimeout`` (AsyncHTTPClient's timeout
    /// covers only the answer's head; a body that stalls is cut off here too).
    private func fetchJSON(_ url: String, what: String) async throws -> JSONValue {
        let timeout = self.fetchTimeout
        let client = self.httpClient
        let body = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var request = HTTPClientRequest(url: url)
                request.headers.add(name: "Accept", value: "application/json")
                let response = try await client.execute(request, timeout: TimeAmount(timeout))
                guard response.status == .ok else {
                    throw JWKSError("\(what) at \(url) answered HTTP \(response.status.code)")
                }
                return try await response.body.collect(upTo: Self.maximumDocumentBytes)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw JWKSError("\(what) at \(url) was not read within \(timeout)")
            }
            return body
        }
        do {
            return try body.withUnsafeReadableBytes { bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) }
        } catch {
            throw JWKSError("\(what) at \(url) is not valid JSON: \(error.description)")
        }
    }

    /// The signing keys of a JWKS document that the service can use: RSA and EC keys with an id,
    /// meant for signatures, of an accepted algorithm. Others (encryption keys, HMAC secrets,
    /// unknown types) are skipped and named in a log line; a set with no usable key is an error.
    public static func keySet(from document: JSONValue, logger: Logger) async throws -> KeySet {
        guard case .array(let entries)? = document["keys"] else {
            throw JWKSError(#"the JWKS has no "keys" list"#)
        }
        let collection = JWTKeyCollection()
        var keys: [String: Key] = [:]
        var skipped: [String] = []
        var used: [String] = []
        for entry in entries {
            guard case .object(let fields) = entry, case .string(let kid)? = fields["kid"], !kid.isEmpty,
                case .string(let keyType)? = fields["kty"]
            else {
                skipped.append("a key without kid or kty")
                continue
            }
            let use = fields["use"]?.stringValue
            let algorithm = fields["alg"]?.stringValue
            let key = Key(keyType: keyType, curve: fields["crv"]?.stringValue, algorithm: algorithm)
            guard key.isUsable, use == nil || use == "sig" else {
                skipped.append(kid)
                continue
            }
            do {
                let json = try JSONEncoder.sortedKeys.encode(entry)
                let jwk = try JSONDecoder().decode(JWK.self, from: json)
                try await collection.add(jwk: jwk)
                keys[kid] = key
                used.append(String(decoding: json, as: UTF8.self))
            } catch {
                skipped.append(kid)
            }
        }
        if !skipped.isEmpty {
            logger.info(
                "JWKS keys skipped (not RSA or EC signing keys of an accepted algorithm)",
                metadata: ["keys": .string(skipped.joined(separator: ","))]
            )
        }
        guard !keys.isEmpty else {
            throw JWKSError("the JWKS holds no RSA or EC signing key with a kid")
        }
        return KeySet(collection: collection, keys: keys, fingerprint: used.sorted().joined(separator: "\n"))
    }
}

/// Why the key set could not be fetched or used.
public struct JWKSError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
