import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import ExtrasBase64
import Foundation
import JWTKit
import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import Authentication
@testable import MockBedrock

/// A MockBedrock with its OIDC issuer, and a verifier of its tokens with a short refetch interval.
struct IssuerFixture: Sendable {
    let mock: MockBedrockServer
    let port: Int
    let verifier: JWTVerifier
    let verified: VerifiedTokens
    let now: Shared<Double>

    var issuer: String { "http://127.0.0.1:\(self.port)/oidc" }

    /// A token from the mock's current key with the usual claims, changed by `changes`.
    func token(_ changes: [String: JSONValue?] = [:]) async throws -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(self.issuer), "sub": "alice", "aud": "mock-client", "iat": .number(self.now.value),
            "exp": .number(self.now.value + 3600), "email": "alice@example.com", "cognito:groups": .array(["admins", "users"]),
        ]
        for (name, value) in changes { claims[name] = value }
        return try await self.mock.oidc.sign(claims)
    }

    func failure(_ token: String) async -> AuthFailure.Reason? {
        do {
            _ = try await self.verifier.principal(for: token)
            return nil
        } catch {
            return error.reason
        }
    }

    var jwksRequests: Int { self.mock.state.statistics.jwksRequests }

    static func with<T: Sendable>(
        refetchInterval: Duration = .milliseconds(400),
        _ body: @Sendable (IssuerFixture) async throws -> T
    ) async throws -> T {
        let mock = MockBedrockServer(
            configuration: MockBedrockConfiguration(port: 0, fixtures: fixturesFolder),
            fixtures: try sharedFixtures.get(),
            logger: Logger(label: "MockBedrock", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return try await mock.withRunningServer { port in
            let settings = JWTSettings(
                issuer: "http://127.0.0.1:\(port)/oidc",
                audiences: ["mock-client", "second-client"],
                leewaySeconds: 60,
                forwardClaims: ["cognito:groups", "email"]
            )
            let verified = VerifiedTokens(capacity: 100)
            let keys = JWKSSource(
                settings: settings,
                httpClient: HTTPClient.shared,
                minimumRefetchInterval: refetchInterval,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { verified.removeAll(startingGeneration: $0) }
            let now = Shared(Date().timeIntervalSince1970.rounded(.down))
            let verifier = JWTVerifier(settings: settings, keys: keys, verified: verified, now: { now.value })
            return try await body(IssuerFixture(mock: mock, port: port, verifier: verifier, verified: verified, now: now))
        }
    }
}

/// base64url without padding, as JWTs are written.
func base64URL(_ bytes: some Collection<UInt8>) -> String {
    Base64.encodeToString(bytes: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter])
}

func base64URL(_ text: String) -> String { base64URL(Array(text.utf8)) }

@Suite("Access control: JWT verification", .timeLimit(.minutes(2)))
struct JWTVerifierTests {
    @Test("a valid token proves its subject, with the forwarded claims; a repeat is answered from memory")
    func valid() async throws {
        try await IssuerFixture.with { fixture in
            let token = try await fixture.token()
            let principal = try await fixture.verifier.principal(for: token)
            #expect(principal.kind == .jwt)
            #expect(principal.id == "alice")
            #expect(principal.forwardedClaims == ["claim_email": "alice@example.com", "claim_cognito:groups": #"["admins","users"]"#])
            let fetches = fixture.jwksRequests
            #expect(try await fixture.verifier.principal(for: token) == principal)
            #expect(fixture.jwksRequests == fetches)
            // Remembered tokens still expire.
            fixture.now.withLock { $0 += 3600 + 61 }
            #expect(await fixture.failure(token) == .expired)
        }
    }

    @Test("claims: issuer, audience, use, subject, expiry, not-before, issued-at, each with the leeway")
    func claims() async throws {
        try await IssuerFixture.with { fixture in
            let now = fixture.now.value
            let cases: [([String: JSONValue?], AuthFailure.Reason?)] = [
                (["iss": "https://other.example.com"], .wrongIssuer),
                (["iss": nil], .wrongIssuer),
                (["aud": "another-client"], .wrongAudience),
                (["aud": .array(["x", "second-client"])], nil),
                (["aud": .array(["x"])], .wrongAudience),
                // Cognito access tokens carry client_id instead of aud.
                (["aud": nil, "client_id": "mock-client", "token_use": "access"], nil),
                (["aud": nil, "client_id": "other"], .wrongAudience),
                (["aud": nil], .wrongAudience),
                (["token_use": "id"], nil),
                (["token_use": "refresh"], .tokenUse),
                (["sub": nil], .malformed),
                (["sub": ""], .malformed),
                (["exp": nil], .malformed),
                (["exp": "tomorrow"], .malformed),
                (["exp": .number(now - 30)], nil),
                (["exp": .number(now - 61)], .expired),
                (["nbf": .number(now + 30)], nil),
                (["nbf": .number(now + 120)], .notYetValid),
                (["iat": .number(now + 120)], .notYetValid),
                (["nbf": "soon"], .malformed),
            ]
            for (changes, expected) in cases {
                let token = try await fixture.token(changes)
                #expect(await fixture.failure(token) == expected, "\(changes)")
            }
        }
    }

    @Test("algorithms: none, HMAC (with the public key as secret) and others are refused before any key is used")
    func algorithms() async throws {
        try await IssuerFixture.with { fixture in
            let valid = try await fixture.token()
            let parts = valid.split(separator: ".").map(String.init)
            let kid = try fixture.mock.oidc.publicKeys().last?["kid"] ?? ""
            let payload = parts[1]
            func header(_ alg: String) -> String { base64URL(#"{"alg":"\#(alg)","kid":"\#(kid)","typ":"JWT"}"#) }
            #expect(await fixture.failure("\(header("none")).\(payload).") == .malformed)
            #expect(await fixture.failure("\(header("none")).\(payload).c2ln") == .algorithm)
            let jwk = try fixture.mock.oidc.publicKeys().last ?? [:]
            let secret = Array((jwk["n"] ?? "").utf8)
            let signingInput = "\(header("HS256")).\(payload)"
            let hmac = Hashing.hmacSHA256(key: secret, data: Array(signingInput.utf8))
            #expect(await fixture.failure("\(signingInput).\(base64URL(hmac))") == .algorithm)
            #expect(await fixture.failure("\(header("PS256")).\(payload).\(parts[2])") == .algorithm)
            // An accepted algorithm that is not the key's.
            #expect(await fixture.failure("\(header("ES256")).\(payload).\(parts[2])") == .algorithm)
            #expect(await fixture.failure("\(header("RS512")).\(payload).\(parts[2])") == .algorithm)
        }
    }

    @Test("signatures: another key's, a tampered payload, a header without kid, garbage")
    func signatures() async throws {
        try await IssuerFixture.with { fixture in
            let valid = try await fixture.token()
            let parts = valid.split(separator: ".").map(String.init)
            // Signed by another issuer's key, presented under this issuer's key id.
            let stranger = OIDCIssuer(fixedIssuer: fixture.issuer)
            let foreign = try await stranger.sign([
                "iss": .string(fixture.issuer), "sub": "alice", "aud": "mock-client", "exp": .number(fixture.now.value + 60),
            ])
            #expect(await fixture.failure("\(parts[0]).\(foreign.split(separator: ".")[1]).\(foreign.split(separator: ".")[2])") == .badSignature)
            let tampered = base64URL(#"{"iss":"\#(fixture.issuer)","sub":"admin","aud":"mock-client","exp":\#(Int(fixture.now.value) + 60)}"#)
            #expect(await fixture.failure("\(parts[0]).\(tampered).\(parts[2])") == .badSignature)
            #expect(await fixture.failure("\(base64URL(#"{"alg":"RS256"}"#)).\(parts[1]).\(parts[2])") == .malformed)
            for garbage in ["", "abc", "a.b", "a.b.c.d", "!!.@@.##", "\(parts[0]).\(parts[1]).", String(repeating: "A", count: 65_536)] {
                #expect(await fixture.failure(garbage) == .malformed, "\(garbage.prefix(20))")
            }
        }
    }

    @Test("an unknown kid fetches the set again at most once per interval, then is refused")
    func unknownKid() async throws {
        try await IssuerFixture.with(refetchInterval: .seconds(1)) { fixture in
            let valid = try await fixture.token()
            _ = try await fixture.verifier.principal(for: valid)
            try await Task.sleep(for: .seconds(1.1))
            let forged = valid.split(separator: ".").dropFirst().joined(separator: ".")
            let header = base64URL(#"{"alg":"RS256","kid":"forged"}"#)
            let before = fixture.jwksRequests
            // Concurrent and repeated forged kids: one fetch in all.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { #expect(await fixture.failure("\(header).\(forged)") == .unknownKey) }
                }
            }
            #expect(await fixture.failure("\(header).\(forged)") == .unknownKey)
            #expect(fixture.jwksRequests == before + 1)
        }
    }

    @Test("a key rotated in is accepted without a restart; tokens of the previous key still are")
    func rotation() async throws {
        try await IssuerFixture.with(refetchInterval: .milliseconds(200)) { fixture in
            let old = try await fixture.token()
            _ = try await fixture.verifier.principal(for: old)
            try fixture.mock.oidc.rotate()
            let new = try await fixture.token(["sub": "bob"])
            try await Task.sleep(for: .milliseconds(250))
            #expect(try await fixture.verifier.principal(for: new).id == "bob")
            #expect(try await fixture.verifier.principal(for: old).id == "alice")
            // Two rotations later the first key is gone from the set: its tokens are refused.
            try fixture.mock.oidc.rotate()
            try await Task.sleep(for: .milliseconds(250))
            _ = try await fixture.verifier.principal(for: try await fixture.token(["sub": "carol"]))
            #expect(await fixture.failure(old) == .unknownKey)
        }
    }

    @Test("no key set at all: the verifier says the keys are unavailable, not that the token is bad")
    func unavailable() async throws {
        let settings = JWTSettings(issuer: "http://127.0.0.1:9/oidc", audiences: ["a"])
        let keys = JWKSSource(
            settings: settings,
            httpClient: HTTPClient.shared,
            fetchTimeout: .seconds(2),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let verifier = JWTVerifier(settings: settings, keys: keys, verified: VerifiedTokens(capacity: 1))
        let token = "\(base64URL(#"{"alg":"RS256","kid":"k"}"#)).\(base64URL("{}")).c2ln"
        await #expect(throws: AuthFailure.self) { try await verifier.principal(for: token) }
        do {
            _ = try await verifier.principal(for: token)
        } catch {
            #expect(error.reason == .keysUnavailable)
        }
    }

    @Test("ES256 and ES384 keys verify their tokens; keys the service cannot use are skipped, not fatal")
    func ellipticCurves() async throws {
        let settings = JWTSettings(issuer: "https://issuer.example.com", audiences: ["app"])
        let keys = JWKSSource(
            settings: settings,
            httpClient: HTTPClient.shared,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let p256 = ES256PrivateKey()
        let p384 = ES384PrivateKey()
        func jwk(_ kid: String, _ curve: String, _ parameters: ECDSAParameters?) -> JSONValue {
            .object([
                "kty": "EC", "use": "sig", "kid": .string(kid), "crv": .string(curve), "x": .string(parameters?.x ?? ""),
                "y": .string(parameters?.y ?? ""),
            ])
        }
        let document: JSONValue = .object([
            "keys": .array([
                jwk("p256", "P-256", p256.publicKey.parameters),
                jwk("p384", "P-384", p384.publicKey.parameters),
                .object(["kty": "oct", "kid": "hmac", "k": "c2VjcmV0"]),
                .object(["kty": "RSA", "use": "enc", "kid": "encryption", "n": "AQAB", "e": "AQAB"]),
                .object(["kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AA"]),
            ])
        ])
        try await keys.install(document, from: "test")
        #expect(await keys.keyCount == 2)
        let verifier = JWTVerifier(settings: settings, keys: keys, verified: VerifiedTokens(capacity: 10))
        let signers = JWTKeyCollection()
        await signers.add(ecdsa: p256, kid: "p256")
        await signers.add(ecdsa: p384, kid: "p384")
        let now = Date().timeIntervalSince1970
        struct Payload: JWTPayload {
            var iss = "https://issuer.example.com"
            var sub: String
            var aud = "app"
            var exp: Double
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let es256 = try await signers.sign(Payload(sub: "p256-user", exp: now + 60), kid: "p256")
        let es384 = try await signers.sign(Payload(sub: "p384-user", exp: now + 60), kid: "p384")
        #expect(try await verifier.principal(for: es256).id == "p256-user")
        #expect(try await verifier.principal(for: es384).id == "p384-user")
        // A P-256 token presented under the P-384 key's id: the algorithm is not that key's.
        let parts = es256.split(separator: ".").map(String.init)
        let header = base64URL(#"{"alg":"ES256","kid":"p384"}"#)
        await #expect(throws: AuthFailure(.algorithm, "The bearer token's algorithm does not match its signing key.")) {
            try await verifier.principal(for: "\(header).\(parts[1]).\(parts[2])")
        }
        // A document with no usable key leaves the keys in force.
        await #expect(throws: JWKSError.self) { try await keys.install(.object(["keys": .array([])]), from: "test") }
        #expect(await keys.keyCount == 2)
    }

    @Test("remembered tokens: kept by hash, kept across an unchanged set, dropped on a new one; a check that raced a new set is not kept")
    func remembered() async throws {
        let verified = VerifiedTokens(capacity: 2)
        let checked = JWTVerifier.Checked(principal: Principal(kind: .jwt, id: "a"), times: .init(expires: Date().timeIntervalSince1970 + 60))
        let digest = VerifiedTokens.digest(of: "token")
        #expect(digest.count == 32)
        #expect(verified.lookup(digest) == nil)
        verified.removeAll(startingGeneration: 1)
        // Verified with the set in force before (version 0): not kept.
        verified.insert(digest, checked, generation: 0)
        #expect(verified.lookup(digest) == nil)
        verified.insert(digest, checked, generation: 1)
        #expect(verified.lookup(digest)?.principal.id == "a")

        try await IssuerFixture.with(refetchInterval: .milliseconds(100)) { fixture in
            let token = try await fixture.token()
            _ = try await fixture.verifier.principal(for: token)
            let fetches = fixture.jwksRequests
            // A forged kid refetches the (unchanged) set: the remembered token stays remembered.
            try await Task.sleep(for: .milliseconds(150))
            let forged = "\(base64URL(#"{"alg":"RS256","kid":"forged"}"#)).\(token.split(separator: ".")[1]).c2ln"
            #expect(fixture.verified.count == 1)
            #expect(await fixture.failure(forged) == .unknownKey)
            #expect(fixture.jwksRequests == fetches + 1)
            #expect(fixture.verified.count == 1)
            // A changed set (a rotation) forgets it.
            try fixture.mock.oidc.rotate()
            try await Task.sleep(for: .milliseconds(150))
            #expect(await fixture.failure(forged) == .unknownKey)
            #expect(fixture.verified.count == 0)
            #expect(try await fixture.verifier.principal(for: token).id == "alice")
            #expect(fixture.verified.count == 1)
        }
    }

    /// Answers every connection with a head and the first byte of a body it never finishes.
    final class StalledBody: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(
                self.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")),
                promise: nil
            )
        }
    }

    @Test("a JWKS whose body stalls is cut off at the fetch timeout, and the next lookup may fetch again")
    func stalledFetch() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(StalledBody()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let settings = JWTSettings(issuer: "http://127.0.0.1:\(port)", jwksURL: "http://127.0.0.1:\(port)/jwks.json", audiences: ["a"])
        let lines = Shared<[String]>([])
        let keys = JWKSSource(
            settings: settings,
            httpClient: HTTPClient.shared,
            minimumRefetchInterval: .milliseconds(1),
            fetchTimeout: .milliseconds(300),
            logger: capturingLogger(lines)
        )
        // Without the deadline over the whole fetch, this would wait on the body for ever.
        await keys.refresh()
        #expect(await keys.keyCount == 0)
        #expect(lines.value.contains { $0.contains("JWKS not fetched") && $0.contains("was not read within") })
        let lookup = await keys.lookup(kid: "k")
        guard case .unavailable = lookup else {
            Issue.record("expected no key set, got \(lookup)")
            return
        }
        try await server.close()
    }
}
