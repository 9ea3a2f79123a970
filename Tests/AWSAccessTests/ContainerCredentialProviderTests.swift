import AsyncHTTPClient
import Foundation
import NIOHTTP1
import TestSupport
import Testing

@testable import AWSAccess

@Suite("Container credentials (ECS task role, EKS Pod Identity)", .timeLimit(.minutes(2)))
struct ContainerCredentialProviderTests {
    static func configuration(_ server: TestHTTPServer, timeout: Duration = .seconds(10)) -> ContainerCredentialProvider.Configuration {
        .init(relativeURIBase: server.baseURL, timeout: timeout)
    }

    @Test("a relative URI is fetched from the ECS endpoint without an authorization header")
    func relativeURI() async throws {
        let handler: TestHTTPServer.Handler = { _ in .json(TestKeys.document(expiration: "2099-01-01T00:00:00.123Z")) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let environment = AWSEnvironment(
                    variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-guid"],
                    homeDirectory: nil
                )
                let provider = try #require(
                    try ContainerCredentialProvider(environment: environment, httpClient: client, configuration: Self.configuration(server))
                )
                let credentials = try await provider.credentials()
                #expect(credentials.accessKeyID == TestKeys.accessKeyID)
                #expect(credentials.secretAccessKey == TestKeys.secretAccessKey)
                #expect(credentials.sessionToken == TestKeys.sessionToken)
                #expect(credentials.expiration == Date(timeIntervalSince1970: 4_070_908_800.123))
                #expect(provider.source == .container(endpoint: server.baseURL))
                let request = try #require(server.requests.first)
                #expect(request.method == .GET)
                #expect(request.uri == "/v2/credentials/task-guid")
                #expect(!request.headers.contains(name: "Authorization"))
            }
        }
    }

    @Test("a full URI sends AWS_CONTAINER_AUTHORIZATION_TOKEN")
    func fullURIWithToken() async throws {
        let handler: TestHTTPServer.Handler = { _ in .json(TestKeys.document()) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let environment = AWSEnvironment(
                    variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Basic abc"],
                    homeDirectory: nil
                )
                let provider = try #require(
                    try ContainerCredentialProvider(environment: environment, httpClient: client, configuration: Self.configuration(server))
                )
                _ = try await provider.credentials()
                #expect(server.requests.first?.headers.first(name: "Authorization") == "Basic abc")
            }
        }
    }

    @Test("the token file (EKS Pod Identity) is read at every fetch and wins over the token variable")
    func tokenFile() async throws {
        try await withTemporaryDirectory { directory in
            let handler: TestHTTPServer.Handler = { _ in .json(TestKeys.document()) }
            try await TestHTTPServer.withServer(handler) { server in
                try await withHTTPClient { client in
                    let tokenFile = directory + "/eks-pod-identity-token"
                    try writeFile(tokenFile, "first-token\n")
                    let environment = AWSEnvironment(
                        variables: [
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/v1/credentials",
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored",
                        ],
                        homeDirectory: nil
                    )
                    let provider = try #require(
                        try ContainerCredentialProvider(environment: environment, httpClient: client, configuration: Self.configuration(server))
                    )
                    _ = try await provider.credentials()
                    try writeFile(tokenFile, "rotated-token")
                    _ = try await provider.credentials()
                    #expect(server.requests.map { $0.headers.first(name: "Authorization") } == ["first-token", "rotated-token"])
                }
            }
        }
    }

    @Test("a missing token file is an error naming the file")
    func missingTokenFile() async throws {
        try await withHTTPClient { client in
            let environment = AWSEnvironment(
                variables: [
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/nonexistent/token",
                ],
                homeDirectory: nil
            )
            let provider = try #require(try ContainerCredentialProvider(environment: environment, httpClient: client))
            let error = try await #require(throws: AWSAccessError.unreadableFile) { try await provider.credentials() }
            #expect(error.detail.contains("/nonexistent/token"))
            #expect(error.detail.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        }
    }

    @Test(
        "plain http is allowed to loopback and the ECS and EKS addresses, https anywhere",
        arguments: [
            "http://127.0.0.1/creds", "http://127.10.20.30:8080/creds", "http://localhost/creds", "http://[::1]/creds",
            "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
            "https://credentials.example.com/creds",
        ]
    )
    func allowedHosts(uri: String) throws {
        let environment = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri], homeDirectory: nil)
        #expect(try ContainerCredentialProvider(environment: environment, httpClient: .shared) != nil)
    }

    @Test(
        "plain http to any other host is refused",
        arguments: [
            "http://example.com/creds", "http://169.254.169.254/latest", "http://10.0.0.1/creds", "http://[fd00:ec2::24]/creds", "not a url",
        ]
    )
    func refusedHosts(uri: String) throws {
        let environment = AWSEnvironment(
            variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret-token"],
            homeDirectory: nil
        )
        let error = try #require(throws: AWSAccessError.invalidEndpoint) {
            try ContainerCredentialProvider(environment: environment, httpClient: .shared)
        }
        #expect(error.detail.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        #expect(!error.detail.contains("secret-token"))
    }

    @Test(
        "malformed credential JSON is an error naming the source, never the secret",
        arguments: [
            "not json \(TestKeys.secretAccessKey)",
            #"{"AccessKeyId":"AKID","SecretAccessKey":"\#(TestKeys.secretAccessKey)","Expiration":"2099-01-01T00:00:00Z"}"#,
            #"{"AccessKeyId":"AKID","SecretAccessKey":"\#(TestKeys.secretAccessKey)","Token":"\#(TestKeys.sessionToken)","Expiration":"soon"}"#,
            #"{"AccessKeyId":42,"SecretAccessKey":"\#(TestKeys.secretAccessKey)"}"#,
        ]
    )
    func malformedJSON(body: String) async throws {
        let handler: TestHTTPServer.Handler = { _ in .json(body) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let environment = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds"], homeDirectory: nil)
                let provider = try #require(
                    try ContainerCredentialProvider(environment: environment, httpClient: client, configuration: Self.configuration(server))
                )
                let error = try await #require(throws: AWSAccessError.malformedResponse) { try await provider.credentials() }
                #expect(error.detail.hasPrefix("container credentials endpoint \(server.baseURL)"))
                #expect(!TestKeys.leaksSecret(error.description))
            }
        }
    }

    @Test("an error status is reported with the source")
    func errorStatus() async throws {
        let handler: TestHTTPServer.Handler = { _ in .json(#"{"code":"InvalidToken"}"#, status: .unauthorized) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let environment = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds"], homeDirectory: nil)
                let provider = try #require(
                    try ContainerCredentialProvider(environment: environment, httpClient: client, configuration: Self.configuration(server))
                )
                let error = try await #require(throws: AWSAccessError.unexpectedStatus) { try await provider.credentials() }
                #expect(error.detail.contains("401"))
            }
        }
    }

    @Test("an unreachable endpoint fails with the source named")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        try await withHTTPClient { client in
            let environment = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/creds"], homeDirectory: nil)
            let provider = try #require(try ContainerCredentialProvider(environment: environment, httpClient: client))
            let error = try await #require(throws: AWSAccessError.requestFailed) { try await provider.credentials() }
            #expect(error.detail.hasPrefix("container credentials endpoint http://127.0.0.1:\(port)"))
        }
    }

    @Test("an endpoint that never answers times out")
    func timeout() async throws {
        let handler: TestHTTPServer.Handler = { _ in nil }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let environment = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds"], homeDirectory: nil)
                let provider = try #require(
                    try ContainerCredentialProvider(
                        environment: environment,
                        httpClient: client,
                        configuration: Self.configuration(server, timeout: .milliseconds(200))
                    )
                )
                await #expect(throws: AWSAccessError.timedOut) { try await provider.credentials() }
            }
        }
    }
}
