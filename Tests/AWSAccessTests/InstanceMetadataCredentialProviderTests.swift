import AsyncHTTPClient
import NIOHTTP1
import TestSupport
import Testing

@testable import AWSAccess

@Suite("EC2 instance metadata (IMDSv2)", .timeLimit(.minutes(2)))
struct InstanceMetadataCredentialProviderTests {
    /// An IMDS stand-in: a token for a PUT with a TTL, the role for that token, its credentials.
    static func imds(credentials: String = TestKeys.document(), role: String = "web-role") -> TestHTTPServer.Handler {
        { request in
            switch (request.method, request.path) {
            case (.PUT, "/latest/api/token"):
                guard request.headers.first(name: "X-aws-ec2-metadata-token-ttl-seconds") == "21600" else { return .text("", status: .badRequest) }
                return .text("imds-session-token")
            case (.GET, _) where request.headers.first(name: "X-aws-ec2-metadata-token") != "imds-session-token":
                return .text("", status: .unauthorized)
            case (.GET, "/latest/meta-data/iam/security-credentials/"):
                return role.isEmpty ? .text("", status: .notFound) : .text(role + "\n")
            case (.GET, "/latest/meta-data/iam/security-credentials/\(role)"):
                return .json(credentials)
            default:
                return .text("", status: .notFound)
            }
        }
    }

    static func environment(_ server: TestHTTPServer) -> AWSEnvironment {
        AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL + "/"], homeDirectory: nil)
    }

    @Test("token, role name, credentials")
    func tokenFlow() async throws {
        try await TestHTTPServer.withServer(Self.imds()) { server in
            try await withHTTPClient { client in
                let provider = try #require(
                    try InstanceMetadataCredentialProvider(
                        environment: Self.environment(server),
                        httpClient: client,
                        configuration: .init(timeout: .seconds(10))
                    )
                )
                let credentials = try await provider.credentials()
                #expect(credentials.accessKeyID == TestKeys.accessKeyID)
                #expect(credentials.sessionToken == TestKeys.sessionToken)
                #expect(provider.source == .instanceMetadata(endpoint: server.baseURL))
                #expect(
                    server.requests.map { "\($0.method) \($0.uri)" } == [
                        "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                        "GET /latest/meta-data/iam/security-credentials/web-role",
                    ]
                )
            }
        }
    }

    @Test("AWS_EC2_METADATA_DISABLED turns it off; the IPv6 mode moves it")
    func settings() throws {
        let client = HTTPClient.shared
        let disabled = AWSEnvironment(variables: ["AWS_EC2_METADATA_DISABLED": "TRUE"], homeDirectory: nil)
        #expect(try InstanceMetadataCredentialProvider(environment: disabled, httpClient: client) == nil)
        let ipv6 = AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"], homeDirectory: nil)
        #expect(
            try InstanceMetadataCredentialProvider(environment: ipv6, httpClient: client)?.source
                == .instanceMetadata(endpoint: "http://[fd00:ec2::254]")
        )
        let plain = AWSEnvironment(variables: [:], homeDirectory: nil)
        #expect(
            try InstanceMetadataCredentialProvider(environment: plain, httpClient: client)?.source
                == .instanceMetadata(endpoint: "http://169.254.169.254")
        )
        let wrongMode = AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv5"], homeDirectory: nil)
        #expect(throws: AWSAccessError.invalidEndpoint) { try InstanceMetadataCredentialProvider(environment: wrongMode, httpClient: client) }
    }

    @Test("an instance without a role is a clear error")
    func noRole() async throws {
        try await TestHTTPServer.withServer(Self.imds(role: "")) { server in
            try await withHTTPClient { client in
                let provider = try #require(
                    try InstanceMetadataCredentialProvider(
                        environment: Self.environment(server),
                        httpClient: client,
                        configuration: .init(timeout: .seconds(10))
                    )
                )
                let error = try await #require(throws: AWSAccessError.unexpectedStatus) { try await provider.credentials() }
                #expect(error.detail.contains("role"))
                #expect(error.detail.contains("404"))
            }
        }
    }

    @Test("a Code other than Success is reported")
    func failureCode() async throws {
        let document = #"{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role"}"#
        try await TestHTTPServer.withServer(Self.imds(credentials: document)) { server in
            try await withHTTPClient { client in
                let provider = try #require(
                    try InstanceMetadataCredentialProvider(
                        environment: Self.environment(server),
                        httpClient: client,
                        configuration: .init(timeout: .seconds(10))
                    )
                )
                let error = try await #require(throws: AWSAccessError.requestRejected) { try await provider.credentials() }
                #expect(error.detail.contains("AssumeRoleUnauthorizedAccess"))
            }
        }
    }

    @Test("a machine without instance metadata fails fast")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        try await withHTTPClient { client in
            let environment = AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"], homeDirectory: nil)
            let provider = try #require(try InstanceMetadataCredentialProvider(environment: environment, httpClient: client))
            let error = try await #require(throws: AWSAccessError.requestFailed) { try await provider.credentials() }
            #expect(error.detail.hasPrefix("EC2 instance metadata http://127.0.0.1:\(port)"))
        }
    }
}
