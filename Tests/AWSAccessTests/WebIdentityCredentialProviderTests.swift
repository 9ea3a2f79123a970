import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import AWSAccess

@Suite("Web identity credentials (EKS IRSA)", .timeLimit(.minutes(2)))
struct WebIdentityCredentialProviderTests {
    static let roleARN = "arn:aws:iam::123456789012:role/web-role"

    static func environment(tokenFile: String, server: TestHTTPServer) -> AWSEnvironment {
        AWSEnvironment(
            variables: [
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": Self.roleARN, "AWS_ROLE_SESSION_NAME": "streamer",
                "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": server.baseURL,
            ],
            homeDirectory: nil
        )
    }

    @Test("the token file's token is exchanged at STS, unsigned, re-read at every fetch")
    func assumeRole() async throws {
        try await withTemporaryDirectory { directory in
            let tokenFile = directory + "/token"
            try writeFile(tokenFile, "eyJhbGciOiJSUzI1NiJ9.first.signature\n")
            let handler: TestHTTPServer.Handler = { _ in .xml(STSDocuments.assumedRole(expiration: "2099-01-01T00:00:00.000Z")) }
            try await TestHTTPServer.withServer(handler) { server in
                try await withHTTPClient { client in
                    let provider = try #require(
                        try WebIdentityCredentialProvider(environment: Self.environment(tokenFile: tokenFile, server: server), httpClient: client)
                    )
                    #expect(provider.source == .webIdentity(roleARN: Self.roleARN))
                    let credentials = try await provider.credentials()
                    #expect(credentials.accessKeyID == TestKeys.accessKeyID)
                    #expect(credentials.secretAccessKey == TestKeys.secretAccessKey)
                    #expect(credentials.sessionToken == TestKeys.sessionToken)
                    #expect(credentials.expiration == AWSDateFormat.parseISO8601("2099-01-01T00:00:00Z"))

                    try writeFile(tokenFile, "eyJhbGciOiJSUzI1NiJ9.rotated.signature")
                    _ = try await provider.credentials()

                    let requests = server.requests
                    #expect(requests.count == 2)
                    #expect(
                        requests.first?.formFields == [
                            "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": Self.roleARN,
                            "RoleSessionName": "streamer", "WebIdentityToken": "eyJhbGciOiJSUzI1NiJ9.first.signature",
                        ]
                    )
                    #expect(requests.last?.formFields["WebIdentityToken"] == "eyJhbGciOiJSUzI1NiJ9.rotated.signature")
                    #expect(requests.allSatisfy { !$0.headers.contains(name: "Authorization") })
                }
            }
        }
    }

    @Test("a missing token file is an error naming the file")
    func missingTokenFile() async throws {
        let handler: TestHTTPServer.Handler = { _ in .xml(STSDocuments.assumedRole()) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let provider = try #require(
                    try WebIdentityCredentialProvider(
                        environment: Self.environment(tokenFile: "/nonexistent/token", server: server),
                        httpClient: client
                    )
                )
                let error = try await #require(throws: AWSAccessError.unreadableFile) { try await provider.credentials() }
                #expect(error.detail.contains("/nonexistent/token"))
                #expect(error.detail.contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
                #expect(server.requests.isEmpty)
            }
        }
    }

    @Test("STS refusing the token is an error naming the source and the STS code, not the token")
    func refused() async throws {
        try await withTemporaryDirectory { directory in
            let tokenFile = directory + "/token"
            try writeFile(tokenFile, "secret.jwt.token")
            let handler: TestHTTPServer.Handler = { request in
                .xml(
                    STSDocuments.error(code: "InvalidIdentityToken", message: "Token \(request.formFields["WebIdentityToken"] ?? "") is bad"),
                    status: .badRequest
                )
            }
            try await TestHTTPServer.withServer(handler) { server in
                try await withHTTPClient { client in
                    let provider = try #require(
                        try WebIdentityCredentialProvider(environment: Self.environment(tokenFile: tokenFile, server: server), httpClient: client)
                    )
                    let error = try await #require(throws: AWSAccessError.requestRejected) { try await provider.credentials() }
                    #expect(error.detail.hasPrefix("web identity (role \(Self.roleARN))"))
                    #expect(error.detail.contains("InvalidIdentityToken"))
                    #expect(!error.detail.contains("secret.jwt.token"))
                }
            }
        }
    }

    @Test("half the settings is an error; none is not configured")
    func settings() throws {
        #expect(try WebIdentityCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: nil), httpClient: .shared) == nil)
        let roleOnly = AWSEnvironment(variables: ["AWS_ROLE_ARN": Self.roleARN], homeDirectory: nil)
        let error = try #require(throws: AWSAccessError.incompleteConfiguration) {
            try WebIdentityCredentialProvider(environment: roleOnly, httpClient: .shared)
        }
        #expect(error.detail.contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
        let fileOnly = AWSEnvironment(variables: ["AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"], homeDirectory: nil)
        #expect(throws: AWSAccessError.incompleteConfiguration) { try WebIdentityCredentialProvider(environment: fileOnly, httpClient: .shared) }
    }
}
