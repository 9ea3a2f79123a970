import BedrockAgentRuntime
import Foundation
import Testing

@testable import MockBedrock

@Suite("MockBedrock's OIDC issuer")
struct OIDCIssuerTests {
    @Test("the token form: percent and plus decoding, repeated fields, empty values")
    func form() {
        let fields = OIDCRoutes.formFields("grant_type=client_credentials&sub=a%40b.c&name=Ada+Lovelace&g=x&g=y&empty=&bare")
        #expect(fields["grant_type"] == ["client_credentials"])
        #expect(fields["sub"] == ["a@b.c"])
        #expect(fields["name"] == ["Ada Lovelace"])
        #expect(fields["g"] == ["x", "y"])
        #expect(fields["empty"] == [""])
        #expect(fields["bare"] == [""])
    }

    @Test("claims: defaults, overrides, not-before, extra claims as strings or lists")
    func claims() {
        let defaults = OIDCRoutes.claims(["grant_type": ["client_credentials"]], issuer: "http://h/oidc", now: 1_000.7)
        #expect(defaults["iss"] == "http://h/oidc")
        #expect(defaults["sub"] == "mock-user")
        #expect(defaults["aud"] == "mock-client")
        #expect(defaults["iat"] == .number(1_000))
        #expect(defaults["nbf"] == nil)
        #expect(defaults["grant_type"] == nil)
        let chosen = OIDCRoutes.claims(
            [
                "sub": ["alice"], "audience": ["app"], "issuer": ["https://other"], "not_before_in": ["30"], "email": ["a@x"],
                "cognito:groups": ["a", "b"],
            ],
            issuer: "http://h/oidc",
            now: 1_000
        )
        #expect(chosen["iss"] == "https://other")
        #expect(chosen["sub"] == "alice")
        #expect(chosen["aud"] == "app")
        #expect(chosen["nbf"] == .number(1_030))
        #expect(chosen["email"] == "a@x")
        #expect(chosen["cognito:groups"] == .array(["a", "b"]))
    }

    @Test("a rotation adds a current key and keeps the previous one; the one before goes")
    func rotation() throws {
        let issuer = OIDCIssuer(fixedIssuer: nil)
        let first = try issuer.publicKeys().map { $0["kid"] }
        #expect(first.count == 1)
        let second = try issuer.rotate()
        #expect(try issuer.publicKeys().map { $0["kid"] } == first + [second])
        let third = try issuer.rotate()
        #expect(try issuer.publicKeys().map { $0["kid"] } == [second, third])
        for key in try issuer.publicKeys() {
            #expect(key["kty"] == "RSA" && key["alg"] == "RS256" && key["use"] == "sig")
            #expect(key["d"] == nil, "no private part in the JWKS")
        }
        #expect(issuer.issuer(host: "127.0.0.1:4566") == "http://127.0.0.1:4566/oidc")
        #expect(OIDCIssuer(fixedIssuer: "https://fixed/oidc").issuer(host: "x") == "https://fixed/oidc")
    }
}
