import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import AgentStreamingService

/// ``CORSPolicy`` alone: its decision for a request and what the decision does to a response.
@Suite("CORS policy")
struct CORSPolicyTests {
    let policy = CORSPolicy(allowedOrigins: .only(["https://app.example.com"]))

    func request(_ method: HTTPRequest.Method = .post, _ fields: HTTPFields = [:]) -> Request {
        Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "service", path: "/api/agent/stream", headerFields: fields),
            body: .init(buffer: ByteBuffer())
        )
    }

    @Test("a request without Origin keeps its response as it is")
    func sameOrigin() {
        let decision = self.policy.decision(for: self.request())
        guard case .sameOrigin = decision else {
            Issue.record("decided \(decision)")
            return
        }
        let response = decision.applied(to: Response(status: .ok, headers: [.vary: "Accept"]))
        #expect(response.headers[values: .vary] == ["Accept"])
        #expect(response.headers[.accessControlAllowOrigin] == nil)
    }

    @Test("an allowed origin's response names it and exposes the headers scripts read; any response varies by Origin")
    func crossOrigin() {
        let allowed = self.policy.decision(for: self.request(.post, [.origin: "https://app.example.com"]))
        let response = allowed.applied(to: Response(status: .badRequest, headers: [.vary: "Accept"]))
        #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
        #expect(response.headers[.accessControlExposeHeaders] == "X-Request-ID, Retry-After, WWW-Authenticate")
        #expect(response.headers[values: .vary] == ["Accept", "Origin"])

        let refused = self.policy.decision(for: self.request(.post, [.origin: "https://evil.example.com"])).applied(to: Response(status: .ok))
        #expect(refused.headers[.accessControlAllowOrigin] == nil)
        #expect(refused.headers[.accessControlExposeHeaders] == nil)
        #expect(refused.headers[values: .vary] == ["Origin"])
    }

    @Test("a preflight is answered without the handler: 204, with methods and headers only for an allowed origin")
    func preflight() {
        let fields: HTTPFields = [
            .origin: "https://app.example.com", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type",
        ]
        let request = self.request(.options, fields)
        guard case .preflight = self.policy.decision(for: request) else {
            Issue.record("an OPTIONS with Access-Control-Request-Method is a preflight")
            return
        }
        let allowed = self.policy.preflightResponse(request)
        #expect(allowed.status == .noContent)
        #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
        #expect(allowed.headers[.accessControlAllowMethods] == "GET, POST, OPTIONS")
        #expect(allowed.headers[.accessControlAllowHeaders] == "content-type")

        var foreign = fields
        foreign[.origin] = "https://evil.example.com"
        let refused = self.policy.preflightResponse(self.request(.options, foreign))
        #expect(refused.status == .noContent)
        #expect(refused.headers[.accessControlAllowOrigin] == nil)
        #expect(refused.headers[.accessControlAllowMethods] == nil)
        #expect(refused.headers[.vary] == "Origin")

        // An OPTIONS without Access-Control-Request-Method is not a preflight; the route answers it.
        guard
            case .crossOrigin(allowed: "https://app.example.com") = self.policy.decision(
                for: self.request(.options, [.origin: "https://app.example.com"])
            )
        else {
            Issue.record("an OPTIONS without Access-Control-Request-Method was taken as a preflight")
            return
        }
    }
}
