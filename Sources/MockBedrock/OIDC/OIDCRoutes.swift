import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OIDC issuer's endpoints under `/oidc`:
/// - `GET /oidc/.well-known/openid-configuration`: the discovery document.
/// - `GET /oidc/jwks.json`: the signing keys.
/// - `POST /oidc/token`: a signed token, client-credentials style (form-encoded, below).
/// - `POST /oidc/rotate`: a new signing key (the previous one stays in the JWKS).
///
/// `POST /oidc/token` takes `grant_type=client_credentials` and optionally `sub` (default
/// `mock-user`), `audience` (default `mock-client`), `expires_in` (seconds, default 3600;
/// negative makes an expired token), `not_before_in` (seconds: `nbf` ahead of now), `issuer`
/// (another `iss`), `token_use`, `client_id`; any other field becomes a string claim, and a field
/// given more than once a list claim (`cognito:groups=admins&cognito:groups=users`).
struct OIDCRoutes: Sendable {
    let issuer: OIDCIssuer
    let state: MockState

    func register(on router: Router<MockRequestContext>) {
        router.get("/oidc/.well-known/openid-configuration") { request, _ in
            let issuer = self.issuer.issuer(host: request.head.authority)
            let document: [String: JSONValue] = [
                "issuer": .string(issuer),
                "jwks_uri": .string(issuer + "/jwks.json"),
                "token_endpoint": .string(issuer + "/token"),
                "grant_types_supported": .array([.string("client_credentials")]),
                "response_types_supported": .array([.string("token")]),
                "subject_types_supported": .array([.string("public")]),
                "id_token_signing_alg_values_supported": .array([.string("RS256")]),
            ]
            return Self.json(document)
        }
        router.get("/oidc/jwks.json") { _, _ in
            self.state.count(\.jwksRequests)
            return Self.json(["keys": try self.issuer.publicKeys()])
        }
        router.post("/oidc/rotate") { _, _ in
            Self.json(["kid": try self.issuer.rotate()])
        }
        router.post("/oidc/token") { request, _ in
            let body = try await request.body.collect(upTo: 65_536)
            let form = Self.formFields(String(buffer: body))
            guard form["grant_type"] == ["client_credentials"] else {
                return Self.json(["error": "unsupported_grant_type"], status: .badRequest)
            }
            var claims = Self.claims(form, issuer: self.issuer.issuer(host: request.head.authority), now: Date().timeIntervalSince1970)
            let lifetime = form["expires_in"]?.first.flatMap(Double.init) ?? 3_600
            claims["exp"] = .number(((claims["iat"].flatMap { if case .number(let n) = $0 { n } else { nil } }) ?? 0) + lifetime)
            let token = try await self.issuer.sign(claims)
            self.state.count(\.tokensIssued)
            return Self.json(
                ["access_token": .string(token), "token_type": .string("Bearer"), "expires_in": .number(lifetime)] as [String: JSONValue]
            )
        }
    }

    /// The claims a token request asks for.
    static func claims(_ form: [String: [String]], issuer: String, now: Double) -> [String: JSONValue] {
        let issued = now.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(form["issuer"]?.first ?? issuer),
            "sub": .string(form["sub"]?.first ?? "mock-user"),
            "aud": .string(form["audience"]?.first ?? "mock-client"),
            "iat": .number(issued),
            "jti": .string(UUID().uuidString.lowercased()),
        ]
        if let notBefore = form["not_before_in"]?.first.flatMap(Double.init) {
            claims["nbf"] = .number(issued + notBefore)
        }
        let reserved: Set<String> = ["grant_type", "issuer", "sub", "audience", "expires_in", "not_before_in"]
        for (name, values) in form where !reserved.contains(name) {
            claims[name] = values.count == 1 ? .string(values[0]) : .array(values.map(JSONValue.string))
        }
        return claims
    }

    /// `application/x-www-form-urlencoded` fields, each name with its values in order.
    static func formFields(_ text: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            let name = decoded(parts[0])
            fields[name, default: []].append(parts.count > 1 ? decoded(parts[1]) : "")
        }
        return fields
    }

    private static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ScenarioPlayer.json(value)))
    }
}
