import AsyncHTTPClient
import Foundation
import NIOHTTP1
import TestSupport
import Testing

@testable import AWSAccess

@Suite("Credential provider chain", .timeLimit(.minutes(1)))
struct CredentialProviderChainTests {
    /// Settings of every source at once; each test removes the ones ahead of the source it checks.
    /// Nothing is fetched: the chain only chooses.
    static func everySource(home: String) throws -> [String: String] {
        try writeFile(home + "/.aws/credentials", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n")
        try writeFile(home + "/token", "jwt")
        return [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
            "AWS_WEB_IDENTITY_TOKEN_FILE": home + "/token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/guid",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
        ]
    }

    static func chain(
        _ variables: [String: String],
        home: String?,
        // Generous timeouts: a loaded test machine must not turn a slow answer into a failure.
        configuration: CredentialProviderChain.Configuration = .init(
            container: .init(timeout: .seconds(10)),
            instanceMetadata: .init(timeout: .seconds(10))
        )
    ) throws
        -> CredentialProviderChain
    {
        try CredentialProviderChain(
            environment: AWSEnvironment(variables: variables, homeDirectory: home),
            httpClient: .shared,
            configuration: configuration,
            logger: quietLogger
        )
    }

    @Test("sources are chosen in the SDKs' order")
    func precedence() async throws {
        try await withTemporaryDirectory { home in
            var variables = try Self.everySource(home: home)
            #expect(try Self.chain(variables, home: home).source == .environment)
            variables["AWS_ACCESS_KEY_ID"] = nil
            variables["AWS_SECRET_ACCESS_KEY"] = nil
            #expect(try Self.chain(variables, home: home).source == .webIdentity(roleARN: "arn:aws:iam::123456789012:role/web"))
            variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
            variables["AWS_ROLE_ARN"] = nil
            #expect(try Self.chain(variables, home: home).source == .profile(name: "default", file: home + "/.aws/credentials"))
            #expect(try Self.chain(variables, home: nil).source == .container(endpoint: "http://169.254.170.2"))
            variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = nil
            #expect(try Self.chain(variables, home: nil).source == .instanceMetadata(endpoint: "http://127.0.0.1:9"))
            variables["AWS_EC2_METADATA_DISABLED"] = "true"
            #expect(throws: AWSAccessError.noCredentialSource) { try Self.chain(variables, home: nil) }
        }
    }

    @Test("a source configured wrongly stops the chain instead of falling through")
    func brokenSourceStops() async throws {
        try await withTemporaryDirectory { home in
            var variables = try Self.everySource(home: home)
            variables["AWS_SECRET_ACCESS_KEY"] = nil
            let error = try #require(throws: AWSAccessError.incompleteConfiguration) { try Self.chain(variables, home: home) }
            #expect(error.detail.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(!error.detail.contains("AKIDENV"))
        }
    }

    @Test("the chosen source's credentials are cached; long-term keys need no network")
    func environmentCredentials() async throws {
        let chain = try Self.chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"], home: nil)
        let credentials = try await chain.credentials()
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "env-secret"))
    }

    @Test("on ECS: the task role comes from the container endpoint, and a failing endpoint recovers on the next use")
    func containerRecovers() async throws {
        let answered = Counter()
        let handler: TestHTTPServer.Handler = { _ in
            answered.increment() == 1 ? .text("agent starting", status: .serviceUnavailable) : .json(TestKeys.document())
        }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let chain = try CredentialProviderChain(
                    environment: AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/guid"], homeDirectory: nil),
                    httpClient: client,
                    configuration: .init(container: .init(relativeURIBase: server.baseURL)),
                    logger: quietLogger
                )
                #expect(chain.source == .container(endpoint: server.baseURL))
                let error = try await #require(throws: AWSAccessError.unexpectedStatus) { try await chain.credentials() }
                #expect(error.detail.contains("503"))
                #expect(try await chain.credentials().accessKeyID == TestKeys.accessKeyID)
                #expect(try await chain.credentials().accessKeyID == TestKeys.accessKeyID)
                #expect(server.requests.count == 2)
            }
        }
    }

    @Test("expired credentials from the endpoint are an error naming the source, never the secret")
    func expiredFromEndpoint() async throws {
        let handler: TestHTTPServer.Handler = { _ in .json(TestKeys.document(expiration: "2020-01-01T00:00:00Z")) }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let chain = try CredentialProviderChain(
                    environment: AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds"], homeDirectory: nil),
                    httpClient: client,
                    logger: quietLogger
                )
                let error = try await #require(throws: AWSAccessError.credentialsExpired) { try await chain.credentials() }
                #expect(error.detail.hasPrefix("container credentials endpoint \(server.baseURL)"))
                #expect(error.detail.contains("2020-01-01"))
                #expect(!TestKeys.leaksSecret(error.description))
            }
        }
    }

    @Test("on EC2: credentials that expire in seconds are refreshed from IMDS before they expire")
    func instanceMetadataRefresh() async throws {
        let issued = Counter()
        let handler: TestHTTPServer.Handler = { request in
            switch request.path {
            case "/latest/api/token": return .text("token")
            case "/latest/meta-data/iam/security-credentials/": return .text("role")
            default:
                let number = issued.increment()
                let expiration = ISO8601DateFormatter().string(from: Date().addingTimeInterval(5))
                return .json(TestKeys.document(expiration: expiration, accessKeyID: "ASIA-\(number)"))
            }
        }
        try await TestHTTPServer.withServer(handler) { server in
            try await withHTTPClient { client in
                let chain = try CredentialProviderChain(
                    environment: AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], homeDirectory: nil),
                    httpClient: client,
                    // The production timeout (1 s) is for a machine without instance metadata; a loaded test machine needs more.
                    configuration: .init(
                        instanceMetadata: .init(timeout: .seconds(10)),
                        refresh: .init(refreshAhead: .seconds(3600), expiryMargin: .zero)
                    ),
                    logger: quietLogger
                )
                let first = try await chain.credentials()
                #expect(first.accessKeyID == "ASIA-1")
                #expect(try await chain.credentials().accessKeyID == "ASIA-1")
                #expect(try await eventually { try await chain.credentials().accessKeyID != "ASIA-1" }, "IMDS was never asked again")
                let credentialFetches = server.requests.filter { $0.path == "/latest/meta-data/iam/security-credentials/role" }
                #expect(credentialFetches.count >= 2)
                #expect(server.requests.filter { $0.path == "/latest/api/token" }.count == credentialFetches.count)
                #expect(credentialFetches[1].received < first.expiration!)
            }
        }
    }
}
