import AsyncHTTPClient
import Logging

/// The credential chain, in the order of the AWS SDKs: environment variables, web identity, the
/// shared files' profile, the container endpoint (ECS task role, EKS Pod Identity), EC2 instance
/// metadata.
///
/// The first configured source is chosen when the chain is created, reported as ``source`` (for
/// `/health` and logs) and used from then on through ``RefreshingCredentials``. A source that is
/// configured but broken (half the keys, a host that is not allowed, a malformed file) is an error
/// rather than a reason to try the next one, so a mistake does not silently pick other credentials.
public struct CredentialProviderChain: CredentialProvider {
    /// Settings of the sources and of refreshing.
    public struct Configuration: Sendable {
        /// The container endpoint's settings.
        public var container: ContainerCredentialProvider.Configuration
        /// Instance metadata's settings.
        public var instanceMetadata: InstanceMetadataCredentialProvider.Configuration
        /// STS settings for web identity.
        public var sts: STSClient.Configuration
        /// When temporary credentials are refreshed.
        public var refresh: RefreshingCredentials.Configuration

        /// Creates a configuration; the defaults are the production ones.
        /// - Parameters:
        ///   - container: The container endpoint's settings.
        ///   - instanceMetadata: Instance metadata's settings.
        ///   - sts: STS settings for web identity.
        ///   - refresh: When temporary credentials are refreshed.
        public init(
            container: ContainerCredentialProvider.Configuration = .init(),
            instanceMetadata: InstanceMetadataCredentialProvider.Configuration = .init(),
            sts: STSClient.Configuration = .init(),
            refresh: RefreshingCredentials.Configuration = .init()
        ) {
            self.container = container
            self.instanceMetadata = instanceMetadata
            self.sts = sts
            self.refresh = refresh
        }
    }

    private let provider: RefreshingCredentials

    /// The chosen source.
    public var source: CredentialSource { self.provider.source }

    /// Chooses the first configured source.
    /// - Parameters:
    ///   - environment: Variables and home directory to read the settings from.
    ///   - httpClient: The HTTP client for the sources that fetch, shared with the rest of the process.
    ///   - configuration: Endpoints, timeouts and refresh settings.
    ///   - logger: Where the choice and refreshes are logged (never a secret).
    /// - Throws: ``AWSAccessError/noCredentialSource`` when no source is configured, or the error of
    ///   the first source that is configured wrongly.
    public init(
        environment: AWSEnvironment = .process,
        httpClient: HTTPClient = .shared,
        configuration: Configuration = .init(),
        logger: Logger = Logger(label: "AWSAccess")
    ) throws {
        let provider = try Self.firstConfiguredProvider(environment: environment, httpClient: httpClient, configuration: configuration)
        logger.info("AWS credentials source chosen", metadata: ["aws.credentials.source": "\(provider.source)"])
        self.provider = RefreshingCredentials(provider: provider, configuration: configuration.refresh, logger: logger)
    }

    /// The chosen source's credentials, cached and refreshed ahead of expiry.
    public func credentials() async throws -> AWSCredentials {
        try await self.provider.credentials()
    }

    private static func firstConfiguredProvider(
        environment: AWSEnvironment,
        httpClient: HTTPClient,
        configuration: Configuration
    ) throws -> any CredentialProvider {
        if let provider = try EnvironmentCredentialProvider(environment: environment) {
            return provider
        }
        if let provider = try WebIdentityCredentialProvider(environment: environment, httpClient: httpClient, stsConfiguration: configuration.sts) {
            return provider
        }
        if let provider = try ProfileCredentialProvider(environment: environment) {
            return provider
        }
        if let provider = try ContainerCredentialProvider(environment: environment, httpClient: httpClient, configuration: configuration.container) {
            return provider
        }
        if let provider = try InstanceMetadataCredentialProvider(
            environment: environment,
            httpClient: httpClient,
            configuration: configuration.instanceMetadata
        ) {
            return provider
        }
        throw AWSAccessError.noCredentialSource(
            "no AWS credentials are configured: no AWS_ACCESS_KEY_ID, no AWS_WEB_IDENTITY_TOKEN_FILE, no profile with keys, no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, and AWS_EC2_METADATA_DISABLED is true"
        )
    }
}
