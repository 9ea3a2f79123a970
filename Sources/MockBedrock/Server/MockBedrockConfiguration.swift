import AWSAccess
import Foundation

/// How a MockBedrock instance behaves. Every setting has a flag and an environment variable
/// (`MOCK_BEDROCK_…`); see `MockBedrock --help`.
struct MockBedrockConfiguration: Sendable {
    /// The address to listen on.
    var host: String
    /// The port to listen on; 0 picks a free one (tests read it back from the running server).
    var port: Int
    /// The folder of fixtures.
    var fixtures: URL
    /// The region requests must be signed for.
    var region: String
    /// The account id that STS reports.
    var account: String
    /// Test credentials: when set, every request's signature is verified in full and unknown keys
    /// are refused; when not, only the form of the signature is checked.
    var credentials: AWSCredentials?
    /// How long credentials issued by the STS and container endpoints last.
    var issuedCredentialLifetime: Duration
    /// The `Authorization` value the container-credentials endpoint requires, if any.
    var containerAuthorizationToken: String?
    /// How far a request's `X-Amz-Date` may be from the mock's clock.
    var maximumClockSkew: Duration
    /// The OIDC issuer URL its tokens and discovery document name; by default
    /// `http://<Host header>/oidc`, so it is right whichever port the mock was given.
    var oidcIssuer: String?
    /// Whether recorded answers (`recordings/`) are replayed at once instead of at the times their
    /// pieces arrived.
    var fullSpeed: Bool

    /// Creates a configuration; the defaults are those of `swift run MockBedrock`.
    init(
        host: String = "127.0.0.1",
        port: Int = 4566,
        fixtures: URL = URL(fileURLWithPath: "Fixtures"),
        region: String = "us-east-1",
        account: String = "123456789012",
        credentials: AWSCredentials? = nil,
        issuedCredentialLifetime: Duration = .seconds(3600),
        containerAuthorizationToken: String? = nil,
        maximumClockSkew: Duration = .seconds(300),
        oidcIssuer: String? = nil,
        fullSpeed: Bool = false
    ) {
        self.fullSpeed = fullSpeed
        self.oidcIssuer = oidcIssuer
        self.host = host
        self.port = port
        self.fixtures = fixtures
        self.region = region
        self.account = account
        self.credentials = credentials
        self.issuedCredentialLifetime = issuedCredentialLifetime
        self.containerAuthorizationToken = containerAuthorizationToken
        self.maximumClockSkew = maximumClockSkew
    }
}
