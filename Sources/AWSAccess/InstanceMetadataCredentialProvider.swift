import AsyncHTTPClient
import NIOHTTP1

/// Temporary credentials of the EC2 instance profile through IMDSv2: a session token (`PUT
/// /latest/api/token`), the role name, then the role's credentials.
///
/// The last source of the chain. Timeouts are short so that a machine without instance metadata
/// fails fast. `AWS_EC2_METADATA_DISABLED=true` turns it off; `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// (or `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`) moves it, as in the SDKs.
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    /// Settings of the provider.
    public struct Configuration: Sendable {
        /// The endpoint when no variable names one.
        public var endpoint: String
        /// The most each of the three requests may take.
        public var timeout: Duration
        /// How long the IMDSv2 session token is asked to live, in seconds.
        public var tokenTTL: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - endpoint: The default endpoint.
        ///   - timeout: The most each request may take.
        ///   - tokenTTL: The session token's lifetime in seconds.
        public init(endpoint: String = "http://169.254.169.254", timeout: Duration = .seconds(1), tokenTTL: Int = 21_600) {
            self.endpoint = endpoint
            self.timeout = timeout
            self.tokenTTL = tokenTTL
        }
    }

    private static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    /// The instance metadata endpoint in use.
    public var source: CredentialSource { .instanceMetadata(endpoint: self.endpoint) }
    private let endpoint: String
    private let httpClient: HTTPClient
    private let configuration: Configuration

    /// Reads the settings.
    /// - Parameters:
    ///   - environment: Where the settings are read.
    ///   - httpClient: The HTTP client to fetch with.
    ///   - configuration: The default endpoint and timeouts.
    /// - Returns: `nil` when `AWS_EC2_METADATA_DISABLED` is `true`.
    /// - Throws: ``AWSAccessError/invalidEndpoint`` for an unknown endpoint mode.
    public init?(environment: AWSEnvironment, httpClient: HTTPClient, configuration: Configuration = .init()) throws {
        guard !environment.isTrue("AWS_EC2_METADATA_DISABLED") else { return nil }
        if let endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
            self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        } else {
            switch environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() {
            case nil, "ipv4": self.endpoint = configuration.endpoint
            case "ipv6": self.endpoint = "http://[fd00:ec2::254]"
            case let mode?:
                throw AWSAccessError.invalidEndpoint("EC2 instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is '\(mode)', not IPv4 or IPv6")
            }
        }
        self.httpClient = httpClient
        self.configuration = configuration
    }

    /// Asks for a session token, the role name and the role's credentials.
    public func credentials() async throws -> AWSCredentials {
        var tokenRequest = HTTPClientRequest(url: self.endpoint + "/latest/api/token")
        tokenRequest.method = .PUT
        tokenRequest.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: String(self.configuration.tokenTTL))
        let token = try await self.fetch(tokenRequest, what: "the IMDSv2 token").text

        let roleName = try await self.get(Self.credentialsPath, token: token, what: "the instance profile's role")
            .split(whereSeparator: \.isNewline).first.map(String.init)
        guard let roleName, !roleName.isEmpty else {
            throw AWSAccessError.malformedResponse("\(self.source): no IAM role is attached to this instance")
        }
        let response = try await self.fetch(
            self.request(Self.credentialsPath + PercentEncoding.encode(roleName), token: token),
            what: "the credentials of role \(roleName)"
        )
        return try CredentialsDocument.credentials(from: response.body, source: self.source)
    }

    private func get(_ path: String, token: String, what: String) async throws -> String {
        try await self.fetch(self.request(path, token: token), what: what).text
    }

    private func request(_ path: String, token: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: self.endpoint + path)
        request.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        return request
    }

    private func fetch(_ request: HTTPClientRequest, what: String) async throws -> HTTPClient.CollectedResponse {
        let response = try await self.httpClient.collect(request, timeout: self.configuration.timeout, source: "\(self.source)")
        guard response.status == .ok else {
            throw AWSAccessError.unexpectedStatus("\(self.source): asking for \(what) got HTTP \(response.status.code)")
        }
        return response
    }
}
