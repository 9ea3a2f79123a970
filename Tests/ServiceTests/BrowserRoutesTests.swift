import AWSAccess
import BedrockAgentRuntime
import BrowserClient
import ExtrasBase64
import Foundation
import NIOHTTP1
import Testing

@testable import AgentStreamingService

/// The client library and the playground as the service serves them: the embedded files, their
/// headers and caching, the page's settings and the content security policy that lets exactly its
/// own code run. Tests/WebClient runs the page in Chromium.
@Suite("Browser client and playground routes", .timeLimit(.minutes(1)))
struct BrowserRoutesTests {
    @Test("the client library and its types at stable URLs, with an ETag that answers 304")
    func library() async throws {
        try await withService { service in
            let library = try await service.get("/client/agent-stream.js")
            #expect(library.status == 200)
            #expect(library.headers.first(name: "content-type") == "text/javascript; charset=utf-8")
            #expect(library.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(Array(library.body.utf8) == BrowserClient.library)
            #expect(library.body.contains("export function streamAgent"))
            let etag = try #require(library.headers.first(name: "etag"))
            let again = try await service.get("/client/agent-stream.js", headers: [("If-None-Match", "\"other\", \(etag)")])
            #expect(again.status == 304)
            #expect(again.body.isEmpty)
            let stale = try await service.get("/client/agent-stream.js", headers: [("If-None-Match", "\"other\"")])
            #expect(stale.status == 200)
            let types = try await service.get("/client/agent-stream.d.ts")
            #expect(types.status == 200)
            #expect(types.body.contains("export function streamAgent(options: StreamAgentOptions): AsyncGenerator<AgentEvent, void, undefined>;"))
            let post = try await service.stream("{}", headers: [("Content-Type", "application/json")], path: "/client/agent-stream.js")
            #expect(post.status == 405)
        }
    }

    @Test("the playground: its settings filled in, and a policy that allows its inline script and style by hash only")
    func playground() async throws {
        try await withService(environment: ["DEFAULT_AGENT_ID": "HELLO", "AUTH_MODE": "jwt", "JWT_ISSUER": "{MOCK}/oidc", "JWT_AUDIENCE": "agents"]) {
            service in
            let page = try await service.get("/playground")
            #expect(page.status == 200)
            #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8")
            #expect(page.body.contains(#"<meta name="playground-auth-mode" content="jwt">"#))
            #expect(page.body.contains(#"<meta name="playground-default-agent" content="HELLO">"#))
            #expect(page.body.contains(#"<meta name="playground-default-alias" content="TSTALIASID">"#))
            #expect(!page.body.contains("{{"))
            #expect(page.headers.first(name: "x-frame-options") == "DENY")
            let policy = try #require(page.headers.first(name: "content-security-policy"))
            let script = try #require(Self.inline("script", in: page.body))
            let style = try #require(Self.inline("style", in: page.body))
            #expect(policy.contains("script-src 'self' 'sha256-\(Base64.encodeToString(bytes: Hashing.sha256(Array(script.utf8))))'"))
            #expect(policy.contains("style-src 'sha256-\(Base64.encodeToString(bytes: Hashing.sha256(Array(style.utf8))))'"))
            #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'") && policy.contains("frame-ancestors 'none'"))
            #expect(!policy.contains("unsafe"))
            let info = try await service.get("/")
            #expect(info.json?["endpoints"]?["playground"] == "GET /playground")
        }
    }

    @Test("PLAYGROUND_ENABLED=false: no page (the client library stays)")
    func disabled() async throws {
        try await withService(environment: ["PLAYGROUND_ENABLED": "false"]) { service in
            let page = try await service.get("/playground")
            #expect(page.status == 404)
            let library = try await service.get("/client/agent-stream.js")
            #expect(library.status == 200)
            let info = try await service.get("/")
            #expect(info.json?["endpoints"]?["playground"] == nil)
            #expect(info.json?["endpoints"]?["client"] == "GET /client/agent-stream.js")
        }
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(environment: ["PLAYGROUND_ENABLED": "maybe"], homeDirectory: nil)
        }
    }

    /// The text of the first inline `<tag>` element of `page`.
    static func inline(_ tag: String, in page: String) -> String? {
        guard let open = page.range(of: "<\(tag)"), let end = page[open.upperBound...].range(of: ">"),
            let close = page[end.upperBound...].range(of: "</\(tag)>")
        else { return nil }
        return String(page[end.upperBound..<close.lowerBound])
    }
}
