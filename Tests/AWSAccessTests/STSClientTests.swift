import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import AWSAccess

@Suite("STS client", .timeLimit(.minutes(2)))
struct STSClientTests {
    static let credentials = AWSCredentials(
        accessKeyID: TestKeys.accessKeyID,
        secretAccessKey: TestKeys.secretAccessKey,
        sessionToken: TestKeys.sessionToken
    )

    /// An STS stand-in that verifies SigV4 like STS does before answering.
    static let verifyingSTS: TestHTTPServer.Handler = { request in
        do {
            try SigV4Signer(service: "sts", region: "eu-west-1").verify(request.sigV4Request) { $0 == TestKeys.accessKeyID ? Self.credentials : nil }
        } catch {
            return .xml(STSDocuments.error(code: "SignatureDoesNotMatch", message: "\(error)"), status: .forbidden)
        }
        guard request.method == .POST, request.formFields == ["Action": "GetCallerIdentity", "Version": "2011-06-15"] else {
            return .xml(STSDocuments.error(code: "InvalidAction", message: "unexpected request"), status: .badRequest)
        }
        return .xml(STSDocuments.callerIdentity())
    }

    @Test("GetCallerIdentity is a signed form POST answered with account, ARN and user id")
    func callerIdentity() async throws {
        try await TestHTTPServer.withServer(Self.verifyingSTS) { server in
            try await withHTTPClient { client in
                let sts = STSClient(httpClient: client, region: AWSRegion("eu-west-1"), endpoint: server.baseURL)
                let identity = try await sts.getCallerIdentity(credentials: Self.credentials)
                #expect(
                    identity
                        == CallerIdentity(
                            account: "123456789012",
                            arn: "arn:aws:sts::123456789012:assumed-role/task-role/session",
                            userID: "AROAEXAMPLEID:session"
                        )
                )
                let request = try #require(server.requests.first)
                #expect(request.headers.first(name: "Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
                #expect(request.headers.first(name: "X-Amz-Security-Token") == TestKeys.sessionToken)
            }
        }
    }

    @Test("an STS error answer becomes a typed STSError without the secrets STS echoes")
    func errorAnswer() async throws {
        let handler: TestHTTPServer.Handler = { request in
            let token = request.headers.first(name: "X-Amz-Security-Token") ?? ""
            return .xml(STSDocuments.error(code: "ExpiredToken", message: "The security token \(token) is expired"), status: .forbidden)
        }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let sts = STSClient(httpClient: client, region: AWSRegion("eu-west-1"), endpoint: server.baseURL)
                let error = try await #require(throws: STSError.self) { try await sts.getCallerIdentity(credentials: Self.credentials) }
                #expect(error.code == .expiredToken)
                #expect(error.statusCode == 403)
                #expect(error.action == "GetCallerIdentity")
                #expect(error.requestID == "0b1c2d3e-0000-4000-8000-000000000003")
                #expect(error.message == "The security token <redacted> is expired")
                #expect(!TestKeys.leaksSecret(error.description))
            }
        }
    }

    @Test("a wrong secret is refused by a verifying server as SignatureDoesNotMatch")
    func wrongSecret() async throws {
        try await TestHTTPServer.withServer(Self.verifyingSTS) { server in
            try await withHTTPClient { client in
                let sts = STSClient(httpClient: client, region: AWSRegion("eu-west-1"), endpoint: server.baseURL)
                let wrong = AWSCredentials(accessKeyID: TestKeys.accessKeyID, secretAccessKey: "wrong", sessionToken: TestKeys.sessionToken)
                let error = try await #require(throws: STSError.self) { try await sts.getCallerIdentity(credentials: wrong) }
                #expect(error.code == .signatureDoesNotMatch)
            }
        }
    }

    @Test("an answer that is not STS's is reported by status or as malformed")
    func nonSTSAnswers() async throws {
        let handler: TestHTTPServer.Handler = { _ in .text("<html>Bad Gateway</html>", status: .badGateway) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let sts = STSClient(httpClient: client, region: AWSRegion("eu-west-1"), endpoint: server.baseURL)
                let error = try await #require(throws: AWSAccessError.unexpectedStatus) {
                    try await sts.getCallerIdentity(credentials: Self.credentials)
                }
                #expect(error.detail.contains("502"))
            }
        }
        let incomplete: TestHTTPServer.Handler = { _ in
            .xml("<GetCallerIdentityResponse><GetCallerIdentityResult/></GetCallerIdentityResponse>")
        }
        try await TestHTTPServer.withServer(incomplete) { server in
            try await withHTTPClient { client in
                let sts = STSClient(httpClient: client, region: AWSRegion("eu-west-1"), endpoint: server.baseURL)
                let error = try await #require(throws: AWSAccessError.malformedResponse) {
                    try await sts.getCallerIdentity(credentials: Self.credentials)
                }
                #expect(error.detail.contains("Account"))
            }
        }
    }

    @Test("a call that gets no answer times out")
    func timeout() async throws {
        let handler: TestHTTPServer.Handler = { _ in nil }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let sts = STSClient(
                    httpClient: client,
                    region: AWSRegion("eu-west-1"),
                    endpoint: server.baseURL,
                    configuration: .init(timeout: .milliseconds(200))
                )
                let error = try await #require(throws: AWSAccessError.timedOut) { try await sts.getCallerIdentity(credentials: Self.credentials) }
                #expect(error.detail.hasPrefix("STS GetCallerIdentity"))
            }
        }
    }
}
