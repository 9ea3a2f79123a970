/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`: the first
/// source of the chain, for development and for platforms that inject keys.
public struct EnvironmentCredentialProvider: CredentialProvider {
    /// Always ``CredentialSource/environment``.
    public var source: CredentialSource { .environment }
    private let keys: AWSCredentials

    /// Reads the keys from the environment.
    /// - Returns: `nil` when neither key variable is set.
    /// - Throws: ``AWSAccessError/incompleteConfiguration`` when only one of them is.
    public init?(environment: AWSEnvironment) throws {
        let accessKeyID = environment["AWS_ACCESS_KEY_ID"]
        let secretAccessKey = environment["AWS_SECRET_ACCESS_KEY"]
        switch (accessKeyID, secretAccessKey) {
        case (nil, nil):
            return nil
        case (let accessKeyID?, let secretAccessKey?):
            self.keys = AWSCredentials(
                accessKeyID: accessKeyID,
                secretAccessKey: secretAccessKey,
                sessionToken: environment["AWS_SESSION_TOKEN"]
            )
        case (nil, _):
            throw AWSAccessError.incompleteConfiguration("environment variables: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil):
            throw AWSAccessError.incompleteConfiguration("environment variables: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
    }

    /// The keys read when the provider was created.
    public func credentials() async throws -> AWSCredentials {
        self.keys
    }
}
