/// A source of AWS credentials.
///
/// Providers fetch from their source on every call; ``RefreshingCredentials`` adds caching and
/// refresh ahead of expiry, and ``CredentialProviderChain`` picks the provider the way the AWS SDKs do.
public protocol CredentialProvider: Sendable {
    /// Where the credentials come from, reported in `/health` and logs.
    var source: CredentialSource { get }

    /// Returns credentials from the source.
    /// - Throws: ``AWSAccessError`` whose detail names the source.
    func credentials() async throws -> AWSCredentials
}
