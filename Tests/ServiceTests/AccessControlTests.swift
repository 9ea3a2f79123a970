import AWSAccess
import AgentRequest
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import Authentication
@testable import MockBedrock

@Suite("Access control: configuration")
struct AuthConfigurationTests {
    func auth(_ variables: [String: String]) throws(ConfigurationError) -> AuthConfiguration {
        try ServiceConfiguration(environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a }, homeDirectory: nil).auth
    }

    func problem(_ variables: [String: String]) -> ConfigurationError? {
        do {
            _ = try self.auth(variables)
            return nil
        } catch {
            return error
        }
    }

    @Test("none by default, with the README's per-principal limits")
    func defaults() throws {
        let auth = try self.auth([:])
        #expect(auth.methods.isEmpty)
        #expect(!auth.isRequired)
        #expect(auth.modeName == "none")
        #expect(auth.principalMaxStreams == 10)
        #expect(auth.principalRequestsPerMinute == 120)
        #expect(auth.principalTokensPerHour == nil)
    }

    @Test("both methods, the JWT settings read and normalised")
    func both() throws {
        let auth = try self.auth([
            "AUTH_MODE": "jwt, API_KEY", "API_KEYS_FILE": "/run/keys.json",
            "JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc", "JWT_AUDIENCE": "client1, client2",
            "JWT_LEEWAY_SECONDS": "5", "JWT_FORWARD_CLAIMS": "email,cognito:groups,email",
            "PRINCIPAL_MAX_STREAMS": "3", "PRINCIPAL_REQUESTS_PER_MINUTE": "30", "PRINCIPAL_TOKENS_PER_HOUR": "100000",
        ])
        #expect(auth.methods == [.apiKey, .jwt])
        #expect(auth.modeName == "api_key,jwt")
        #expect(auth.apiKeysFile == "/run/keys.json")
        #expect(auth.jwt?.audiences == ["client1", "client2"])
        #expect(auth.jwt?.leewaySeconds == 5)
        #expect(auth.jwt?.forwardClaims == ["cognito:groups", "email"])
        #expect(auth.jwt?.discoveryURL == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/openid-configuration")
        #expect(auth.principalMaxStreams == 3)
        #expect(auth.principalRequestsPerMinute == 30)
        #expect(auth.principalTokensPerHour == 100_000)
    }

    @Test(
        "invalid combinations stop start-up, naming the variable",
        arguments: [
            (["AUTH_MODE": "bogus"], "AUTH_MODE"),
            (["AUTH_MODE": "none,jwt"], "AUTH_MODE"),
            (["AUTH_MODE": "api_key"], "API_KEYS_FILE"),
            (["AUTH_MODE": "jwt", "JWT_AUDIENCE": "a"], "JWT_ISSUER"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://issuer.example.com"], "JWT_AUDIENCE"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "http://issuer.example.com", "JWT_AUDIENCE": "a"], "JWT_ISSUER"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://issuer.example.com?x=1", "JWT_AUDIENCE": "a"], "JWT_ISSUER"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://i.example.com", "JWT_AUDIENCE": ", ,"], "JWT_AUDIENCE"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://i.example.com", "JWT_AUDIENCE": "a", "JWT_JWKS_URL": "ftp://x"], "JWT_JWKS_URL"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://i.example.com", "JWT_AUDIENCE": "a", "JWT_LEEWAY_SECONDS": "-1"], "JWT_LEEWAY_SECONDS"),
            (["AUTH_MODE": "jwt", "JWT_ISSUER": "https://i.example.com", "JWT_AUDIENCE": "a", "JWT_FORWARD_CLAIMS": "a b"], "JWT_FORWARD_CLAIMS"),
            (["API_KEYS_FILE": "/keys.json"], "API_KEYS_FILE"),
            (["AUTH_MODE": "api_key", "API_KEYS_FILE": "/k", "JWT_ISSUER": "https://i.example.com"], "JWT_ISSUER"),
            (["PRINCIPAL_MAX_STREAMS": "0"], "PRINCIPAL_MAX_STREAMS"),
            (["PRINCIPAL_REQUESTS_PER_MINUTE": "many"], "PRINCIPAL_REQUESTS_PER_MINUTE"),
            (["PRINCIPAL_TOKENS_PER_HOUR": "1000"], "PRINCIPAL_TOKENS_PER_HOUR"),
            (["AUTH_MODE": "api_key", "API_KEYS_FILE": "/k", "PRINCIPAL_TOKENS_PER_HOUR": "0"], "PRINCIPAL_TOKENS_PER_HOUR"),
            (["AUTH_MODE": "api_key", "API_KEYS_FILE": "/k", "PRINCIPAL_TOKENS_PER_HOUR": "1e6"], "PRINCIPAL_TOKENS_PER_HOUR"),
            (
                ["AUTH_MODE": "api_key", "API_KEYS_FILE": "/k", "PRINCIPAL_TOKENS_PER_HOUR": "1000", "USAGE_METERING": "false"],
                "PRINCIPAL_TOKENS_PER_HOUR"
            ),
        ]
    )
    func invalid(variables: [String: String], variable: String) {
        #expect(self.problem(variables)?.source == variable)
    }

    @Test("http is accepted for an issuer on this machine only")
    func loopbackIssuer() throws {
        let auth = try self.auth(["AUTH_MODE": "jwt", "JWT_ISSUER": "http://127.0.0.1:4566/oidc", "JWT_AUDIENCE": "mock-client"])
        #expect(auth.jwt?.issuer == "http://127.0.0.1:4566/oidc")
    }
}

@Suite("Access control: API keys")
struct APIKeyFileTests {
    static func digest(_ key: String) -> String { Hashing.hex(Hashing.sha256(Array(key.utf8))) }

    static func file(_ json: String) throws -> APIKeyFile { try APIKeyFile(parsing: Array(json.utf8)) }

    @Test("a key is found by its hash, with its agents; an unknown, empty or oversized key is not")
    func lookup() throws {
        let file = try Self.file(
            #"{"keys": [{"id": "team-a", "sha256": "\#(Self.digest("key-a"))", "agents": ["HELLO"]}, {"id": "team-b", "sha256": "\#(Self.digest("key-b").uppercased())"}]}"#
        )
        #expect(file.entry(forKey: "key-a")?.id == "team-a")
        #expect(file.entry(forKey: "key-a")?.agents == ["HELLO"])
        #expect(file.entry(forKey: "key-b")?.id == "team-b")
        #expect(file.entry(forKey: "key-b")?.agents == nil)
        #expect(file.entry(forKey: "key-c") == nil)
        #expect(file.entry(forKey: "") == nil)
        #expect(file.entry(forKey: String(repeating: "a", count: 257)) == nil)
    }

    @Test(
        "each problem names the entry and the field",
        arguments: [
            (#"[]"#, "must be an object"),
            (#"{"keys": [], "extra": 1}"#, "unknown field 'extra'"),
            (#"{"keys": [{"id": "a b", "sha256": "00"}]}"#, "keys[0].id"),
            (#"{"keys": [{"id": "a", "sha256": "zz"}]}"#, "keys[0] ('a'): sha256"),
            (#"{"keys": [{"id": "a", "sha256": "\#(String(repeating: "0", count: 64))", "agent": []}]}"#, "unknown field 'agent'"),
            (
                #"{"keys": [{"id": "a", "sha256": "\#(String(repeating: "0", count: 64))", "agents": ["not an agent"]}]}"#,
                "agents must list agent ids"
            ),
            (
                #"{"keys": [{"id": "a", "sha256": "\#(String(repeating: "0", count: 64))"}, {"id": "a", "sha256": "\#(String(repeating: "1", count: 64))"}]}"#,
                "used twice"
            ),
            (
                #"{"keys": [{"id": "a", "sha256": "\#(String(repeating: "0", count: 64))"}, {"id": "b", "sha256": "\#(String(repeating: "0", count: 64))"}]}"#,
                "another entry's"
            ),
            (#"{"keys": [}"#, "not valid JSON"),
        ]
    )
    func invalid(json: String, problem: String) {
        #expect {
            try Self.file(json)
        } throws: { error in
            (error as? APIKeyFileError)?.problem.contains(problem) == true
        }
    }

    @Test("a reload replaces the keys only when the new file is valid")
    func reload() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"keys": [{"id": "old", "sha256": "\#(Self.digest("old-key"))"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let lines = Shared<[String]>([])
        let store = try APIKeyStore(path: path, logger: capturingLogger(lines))
        #expect(store.entry(forKey: "old-key")?.id == "old")

        try #"{"keys": [{"id": "new", "sha256": "\#(Self.digest("new-key"))"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(store.reload())
        #expect(store.entry(forKey: "old-key") == nil)
        #expect(store.entry(forKey: "new-key")?.id == "new")
        #expect(lines.value.contains { $0.contains("API keys reloaded") && $0.contains(#""removed": "old""#) })

        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!store.reload())
        #expect(store.entry(forKey: "new-key")?.id == "new")
        #expect(lines.value.contains { $0.contains("API keys not reloaded") && $0.contains("not valid JSON") })
    }

    @Test("a missing file stops start-up naming API_KEYS_FILE")
    func missing() {
        #expect {
            try APIKeyStore(path: "/nonexistent/keys.json", logger: Logger(label: "test"))
        } throws: { error in
            (error as? APIKeyFileError)?.problem.contains("cannot be read") == true
        }
    }

    @Test("new-api-key prints a key whose entry accepts it")
    func newKey() throws {
        let (key, entry) = NewAPIKeyCommand.make(id: "team-z", agents: ["HELLO"])
        #expect(key.hasPrefix("bas_") && key.utf8.count == 47)
        let file = try Self.file(#"{"keys": [\#(entry)]}"#)
        #expect(file.entry(forKey: key)?.id == "team-z")
        #expect(file.entry(forKey: key)?.agents == ["HELLO"])
        #expect(NewAPIKeyCommand.make(id: "team-z", agents: []).key != key)
    }
}

@Suite("Access control: per-principal limits")
struct PrincipalLimitsTests {
    let alice = Principal(kind: .apiKey, id: "alice")
    let bob = Principal(kind: .jwt, id: "alice")

    @Test("the bucket holds a minute's requests, refills at the rate, and says when to retry")
    func bucket() throws {
        let clock = Shared(ContinuousClock.now)
        let limits = PrincipalLimits(maxStreams: 10, requestsPerMinute: 60, now: { clock.value })
        for _ in 0..<60 { try limits.admitRequest(self.alice) }
        #expect(throws: PrincipalLimits.Refusal(limit: .requests, retryAfterSeconds: 1)) { try limits.admitRequest(self.alice) }
        // Another principal (an api_key and a jwt principal of the same id are two) is not affected.
        try limits.admitRequest(self.bob)
        clock.withLock { $0 += .milliseconds(1_500) }
        try limits.admitRequest(self.alice)
        #expect(throws: PrincipalLimits.Refusal.self) { try limits.admitRequest(self.alice) }
    }

    @Test("Retry-After is the time until the next request is allowed")
    func retryAfter() throws {
        let clock = Shared(ContinuousClock.now)
        let limits = PrincipalLimits(maxStreams: 10, requestsPerMinute: 2, now: { clock.value })
        try limits.admitRequest(self.alice)
        try limits.admitRequest(self.alice)
        #expect(throws: PrincipalLimits.Refusal(limit: .requests, retryAfterSeconds: 30)) { try limits.admitRequest(self.alice) }
    }

    @Test("streams are counted until their slot is released")
    func streams() throws {
        let limits = PrincipalLimits(maxStreams: 2, requestsPerMinute: 100)
        var first: PrincipalLimits.Slot? = try limits.openStream(self.alice)
        let second = try limits.openStream(self.alice)
        #expect(throws: PrincipalLimits.Refusal(limit: .streams, retryAfterSeconds: 1)) { try limits.openStream(self.alice) }
        _ = try limits.openStream(self.bob)
        #expect(limits.streams(of: self.alice) == 2)
        first = nil
        #expect(limits.streams(of: self.alice) == 1)
        _ = try limits.openStream(self.alice)
        withExtendedLifetime((first, second)) {}
    }

    @Test("a token budget admits streams while above zero, is charged when answers end, and refills by the hour")
    func tokenBudget() throws {
        let clock = Shared(ContinuousClock.now)
        let limits = PrincipalLimits(maxStreams: 10, requestsPerMinute: 60, tokensPerHour: 3_600, now: { clock.value })
        #expect(limits.tokensLeft(of: self.alice) == 3_600)
        // Two streams admitted with budget left; the last answer may overdraw it.
        let first = try limits.openStream(self.alice)
        let second = try limits.openStream(self.alice)
        first.spend(tokens: 3_000)
        second.spend(tokens: 700)
        #expect(limits.tokensLeft(of: self.alice) == -100)
        // One token a second comes back: 101 s until the balance is above zero.
        #expect(throws: PrincipalLimits.Refusal(limit: .tokens, retryAfterSeconds: 101)) { try limits.openStream(self.alice) }
        // The refusal counts no stream, and another principal has its own budget.
        first.release()
        second.release()
        #expect(limits.streams(of: self.alice) == 0)
        _ = try limits.openStream(self.bob)
        clock.withLock { $0 += .seconds(100) }
        #expect(throws: PrincipalLimits.Refusal.self) { try limits.openStream(self.alice) }
        clock.withLock { $0 += .seconds(2) }
        let third = try limits.openStream(self.alice)
        // A release is counted once, however often it is asked for.
        third.release()
        third.release()
        #expect(limits.streams(of: self.alice) == 0)
        clock.withLock { $0 += .seconds(7_200) }
        #expect(limits.tokensLeft(of: self.alice) == 3_600)
        // The debt stops at minus one budget: at most an hour's wait, however much was overdrawn.
        let greedy = try limits.openStream(self.alice)
        greedy.spend(tokens: 1_000_000)
        #expect(limits.tokensLeft(of: self.alice) == -3_600)
        #expect(throws: PrincipalLimits.Refusal(limit: .tokens, retryAfterSeconds: 3_601)) { try limits.openStream(self.alice) }
    }

    @Test("without a budget, spending does nothing")
    func noBudget() throws {
        let limits = PrincipalLimits(maxStreams: 1, requestsPerMinute: 60)
        let slot = try limits.openStream(self.alice)
        slot.spend(tokens: 1_000_000)
        #expect(limits.tokensLeft(of: self.alice) == nil)
        slot.release()
        _ = try limits.openStream(self.alice)
    }

    @Test("idle principals whose bucket refilled are forgotten when the table grows")
    func pruning() throws {
        let clock = Shared(ContinuousClock.now)
        let limits = PrincipalLimits(maxStreams: 1, requestsPerMinute: 60, pruneThreshold: 3, now: { clock.value })
        let streaming = try limits.openStream(self.alice)
        try limits.admitRequest(Principal(kind: .apiKey, id: "b"))
        try limits.admitRequest(Principal(kind: .apiKey, id: "c"))
        #expect(limits.trackedPrincipals == 3)
        clock.withLock { $0 += .seconds(2) }
        try limits.admitRequest(Principal(kind: .apiKey, id: "d"))
        // b and c are full again and dropped; alice has a stream and stays.
        #expect(limits.trackedPrincipals == 2)
        #expect(limits.streams(of: self.alice) == 1)
        withExtendedLifetime(streaming) {}
    }
}

@Suite("Access control: sessions belong to their principal")
struct SessionScopeTests {
    let configuration = try! ServiceConfiguration(environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: nil)

    func request(_ json: String, principal: Principal?) throws -> StreamRequest {
        try StreamRequest(parsing: ByteBuffer(string: json), configuration: self.configuration, principal: principal)
    }

    @Test("two principals never share a Bedrock session or memory; one principal always gets the same")
    func isolation() throws {
        let body = #"{"input_text": "Hi", "agent_id": "HELLO", "session_id": "shared-1", "memory_id": "memory-1"}"#
        let alice = try self.request(body, principal: Principal(kind: .jwt, id: "alice"))
        let again = try self.request(body, principal: Principal(kind: .jwt, id: "alice"))
        let bob = try self.request(body, principal: Principal(kind: .jwt, id: "bob"))
        let keyAlice = try self.request(body, principal: Principal(kind: .apiKey, id: "alice"))
        let anonymous = try self.request(body, principal: nil)
        #expect(alice.bedrockSessionId == again.bedrockSessionId)
        #expect(alice.memoryId == again.memoryId)
        #expect(Set([alice.bedrockSessionId, bob.bedrockSessionId, keyAlice.bedrockSessionId, "shared-1"]).count == 4)
        #expect(Set([alice.memoryId, bob.memoryId, keyAlice.memoryId]).count == 3)
        #expect(anonymous.bedrockSessionId == "shared-1" && anonymous.memoryId == "memory-1")
        // The client keeps its own id; Bedrock gets one within its rules.
        #expect(alice.target.sessionId == "shared-1")
        #expect(alice.bedrockTarget.sessionId == alice.bedrockSessionId)
        for id in [alice.bedrockSessionId, alice.memoryId ?? ""] {
            #expect(BedrockIdentifier.sessionId.violation(in: id) == nil)
            #expect(BedrockIdentifier.memoryId.violation(in: id) == nil)
        }
    }

    @Test("separators in ids cannot make two principals' inputs collide")
    func lengthPrefixed() {
        let one = SessionScope.bedrockSessionId(principal: Principal(kind: .jwt, id: "a"), sessionId: "b:c")
        let two = SessionScope.bedrockSessionId(principal: Principal(kind: .jwt, id: "a:b"), sessionId: "c")
        #expect(one != two)
    }

    @Test("the principal's identity overrides what the client sent under the reserved names")
    func attributes() throws {
        var principal = Principal(kind: .jwt, id: "alice")
        principal.forwardedClaims = ["claim_email": "alice@example.com"]
        let request = try self.request(
            #"{"input_text": "Hi", "agent_id": "HELLO", "session_attributes": {"principal_id": "mallory", "principal_kind": "api_key", "claim_email": "m@evil.example", "claim_admin": "true", "claim_\u0301email": "x", "theme": "dark"}, "prompt_session_attributes": {"principal_id": "mallory", "today": "Monday"}}"#,
            principal: principal
        )
        // `claim_\u0301email` begins with the bytes of `claim_`, though not with its characters: dropped too.
        #expect(request.sessionAttributes == ["principal_id": "alice", "principal_kind": "jwt", "claim_email": "alice@example.com", "theme": "dark"])
        #expect(request.promptSessionAttributes == ["today": "Monday"])
        let body = try JSONDecoder().decode(InvokeAgentRequest.self, from: Data(buffer: request.upstreamBody))
        #expect(body.sessionState?.sessionAttributes?["principal_id"] == "alice")

        let plain = try self.request(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, principal: principal)
        #expect(plain.sessionAttributes == ["principal_id": "alice", "principal_kind": "jwt", "claim_email": "alice@example.com"])
    }

    @Test("a key's agents narrow the agents it may invoke: 403 after every 400")
    func agents() throws {
        let principal = Principal(kind: .apiKey, id: "team-a", agents: ["HELLO"])
        _ = try self.request(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, principal: principal)
        #expect(throws: APIError.agentNotAllowed) {
            try self.request(#"{"input_text": "Hi", "agent_id": "CITED"}"#, principal: principal)
        }
        #expect(throws: APIError.invalidField("input_text", "is required")) {
            try self.request(#"{"agent_id": "CITED"}"#, principal: principal)
        }
    }
}

func capturingLogger(_ lines: Shared<[String]>) -> Logger {
    Logger(label: "test") { label in
        PythonLoggingFormatHandler(label: label, format: .text, level: .info) { line in lines.withLock { $0.append(line) } }
    }
}

@Suite("Access control: the service", .timeLimit(.minutes(2)))
struct AccessControlServiceTests {
    static let jwtEnvironment = [
        "AUTH_MODE": "jwt", "JWT_ISSUER": "{MOCK}/oidc", "JWT_AUDIENCE": "mock-client", "ALLOWED_AGENT_IDS": "HELLO",
    ]

    static func token(_ service: TestService, subject: String) async throws -> String {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(service.mockPort)/oidc/token")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials&sub=\(subject)&audience=mock-client"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 65_536)
        return try #require(try JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))["access_token"]?.stringValue)
    }

    @Test("/health tells the mode and the keys it checks against, and stays open")
    func health() async throws {
        try await withService(environment: Self.jwtEnvironment) { service in
            try await eventually { await service.service.access.jwt?.keys.keyCount == 1 }
            let health = try await service.get("/health")
            #expect(health.status == 200)
            #expect(health.json?["details"]?["auth"] == .object(["mode": "jwt", "jwks_keys": .number(1)]))
        }
    }

    @Test("a principal's refusals and stream carry its id on their log lines; its token is on none")
    func logs() async throws {
        try await withService(environment: Self.jwtEnvironment) { service in
            let token = try await Self.token(service, subject: "alice")
            let auth = ("Authorization", "Bearer \(token)")
            let refused = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "CITED"}"#,
                headers: [("Content-Type", "application/json"), auth]
            )
            #expect(refused.status == 403)
            let streamed = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "HELLO"}"#,
                headers: [("Content-Type", "application/json"), auth]
            )
            #expect(streamed.status == 200)
            streamed.checkInvariants()
            let lines = service.logLines.value
            #expect(lines.contains { $0.contains("Request refused") && $0.contains("agent_not_allowed") && $0.contains(#""principal_id": "alice""#) })
            #expect(lines.contains { $0.contains("Agent invocation completed") && $0.contains(#""principal_id": "alice""#) })
            let signature = String(token.split(separator: ".").last ?? "")
            #expect(!lines.contains { $0.contains(signature) })
        }
    }

    @Test("a principal's spent token budget refuses its next stream with 429 token_budget_exhausted, not another's")
    func tokenBudget() async throws {
        var environment = Self.jwtEnvironment
        environment["ALLOWED_AGENT_IDS"] = "USAGE,HELLO"
        environment["PRINCIPAL_TOKENS_PER_HOUR"] = "300"
        try await withService(environment: environment) { service in
            let alice = ("Authorization", "Bearer \(try await Self.token(service, subject: "alice"))")
            let bob = ("Authorization", "Bearer \(try await Self.token(service, subject: "bob"))")
            let json = ("Content-Type", "application/json")
            // USAGE's answer uses 265 + 53 tokens: admitted with 300 left, it overdraws the budget.
            let first = try await service.stream(#"{"input_text": "Hi", "agent_id": "USAGE"}"#, headers: [json, alice])
            #expect(first.status == 200)
            #expect(first.lines.last?["usage"]?["input_tokens"] == .number(265))
            let refused = try await service.stream(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, headers: [json, alice])
            #expect(refused.status == 429)
            #expect(refused.json?["error_code"] == "token_budget_exhausted")
            // 18 tokens below zero, 300 an hour come back: about 228 s until the next stream.
            let retryAfter = Int(refused.headers.first(name: "retry-after") ?? "") ?? 0
            #expect((220...228).contains(retryAfter))
            #expect(service.mock.statistics.invocations == 1)
            let other = try await service.stream(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, headers: [json, bob])
            #expect(other.status == 200)
            let metrics = try await service.get("/metrics")
            #expect(metrics.body.contains(#"http_rate_limited_total{limit="tokens"} 1"#))
        }
    }

    @Test("an issuer that cannot be reached: the service starts, /health is degraded, tokens get 503, not 401")
    func unreachableIssuer() async throws {
        let environment = ["AUTH_MODE": "jwt", "JWT_ISSUER": "http://127.0.0.1:9/oidc", "JWT_AUDIENCE": "mock-client"]
        try await withService(environment: environment) { service in
            try await eventually { service.logLines.value.contains { $0.contains("JWKS not fetched") } }
            let health = try await service.get("/health")
            #expect(health.status == 200)
            #expect(health.json?["status"] == "degraded")
            #expect(health.json?["details"]?["auth"]?["jwks_keys"] == .number(0))
            let token = "\(base64URL(#"{"alg":"RS256","kid":"k1"}"#)).\(base64URL(#"{"sub":"a"}"#)).c2ln"
            let refused = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "HELLO"}"#,
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")]
            )
            #expect(refused.status == 503)
            #expect(refused.json?["error_code"] == "authentication_unavailable")
            #expect(refused.headers.first(name: "retry-after") == "10")
            #expect(service.mock.statistics.invocations == 0)
        }
    }
}
