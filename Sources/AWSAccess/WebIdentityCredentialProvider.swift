import AsyncHTTPClient
import Foundation

/// Temporary credentials of a role, assumed with the web identity token in
/// `AWS_WEB_IDENTITY_TOKEN_FILE` through STS `AssumeRoleWithWebIdentity`: EKS IAM roles for
/// service accounts.
///
/// The token file is read again at every fetch, since the kubelet rotates the token in place.
public struct WebIdentityCredentialProvider: CredentialProvider {
    /// The role assumed.
    public var source: CredentialSource { .webIdentity(roleARN: self.roleARN) }
    private let tokenFile: String
    private let roleARN: String
    private let roleSessionName: String
    private let sts: STSClient

    /// Reads the settings: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`,
    /// and the region and STS endpoint (``AWSRegion/resolve(environment:)``, ``AWSEndpoints``).
    /// - Parameters:
    ///   - environment: Where the settings are read.
    ///   - httpClient: The HTTP client to call STS with.
    ///   - stsConfiguration: The STS timeout.
    /// - Returns: `nil` when neither the token file nor the role is set.
    /// - Throws: ``AWSAccessError/incompleteConfiguration`` when only one of them is; the errors of
    ///   region and endpoint resolution.
    public init?(environment: AWSEnvironment, httpClient: HTTPClient, stsConfiguration: STSClient.Configuration = .init()) throws {
        switch (environment["AWS_WEB_IDENTITY_TOKEN_FILE"], environment["AWS_ROLE_ARN"]) {
        case (nil, nil):
            return nil
        case (let tokenFile?, let roleARN?):
            self.tokenFile = environment.expandingHome(tokenFile)
            self.roleARN = roleARN
        case (nil, _):
            throw AWSAccessError.incompleteConfiguration("web identity: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not")
        case (_, nil):
            throw AWSAccessError.incompleteConfiguration("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
        }
        self.roleSessionName = environment["AWS_ROLE_SESSION_NAME"] ?? "aws-access-\(Int(Date().timeIntervalSince1970))"
        let region = try AWSRegion.resolve(environment: environment)
        self.sts = STSClient(
            httpClient: httpClient,
            region: region,
            endpoint: try AWSEndpoints(region: region, environment: environment).sts,
            configuration: stsConfiguration
        )
    }

    /// Reads the token file and exchanges the token at STS.
    public func credentials() async throws -> AWSCredentials {
        let token: String
        do {
            token = String(decoding: try Data(contentsOf: URL(fileURLWithPath: self.tokenFile)), as: UTF8.self).trimmingASCIIWhitespace()
        } catch {
            throw AWSAccessError.unreadableFile("\(self.source): cannot read the token file \(self.tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")
        }
        guard !token.isEmpty else {
            throw AWSAccessError.unreadableFile("\(self.source): the token file \(self.tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE) is empty")
        }
        do {
            return try await self.sts.assumeRoleWithWebIdentity(
                roleARN: self.roleARN,
                roleSessionName: self.roleSessionName,
                webIdentityToken: token
            )
        } catch let error as STSError {
            throw AWSAccessError.requestRejected("\(self.source): \(error)")
        } catch let error as AWSAccessError {
            throw error.prefixed(by: "\(self.source): ")
        }
    }
}
