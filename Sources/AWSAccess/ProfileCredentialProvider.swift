/// Static keys of a profile in the shared files: `aws_access_key_id`, `aws_secret_access_key` and
/// `aws_session_token` of `AWS_PROFILE` (else `default`), the credentials file before the config file.
///
/// Profiles that assume a role, use SSO or run a `credential_process` are not supported; a profile
/// without static keys is passed over, as the SDKs pass over a profile without credentials.
public struct ProfileCredentialProvider: CredentialProvider {
    /// The profile and the file its keys were read from.
    public let source: CredentialSource
    private let keys: AWSCredentials

    /// Reads the selected profile's keys.
    /// - Returns: `nil` when the profile has no static keys, or when it is the implicit `default`
    ///   and neither file defines it.
    /// - Throws: ``AWSAccessError/profileNotFound`` when `AWS_PROFILE` names a profile that neither
    ///   file defines, ``AWSAccessError/incompleteConfiguration`` for a key id without a secret or
    ///   the reverse, ``AWSAccessError/malformedProfileFile`` and ``AWSAccessError/unreadableFile``.
    public init?(environment: AWSEnvironment) throws {
        let files = try SharedConfigFiles(environment: environment)
        let sections = [files.credentialsSection, files.configSection].compactMap { $0 }
        if sections.isEmpty {
            guard files.profileIsExplicit else { return nil }
            throw AWSAccessError.profileNotFound(
                "AWS_PROFILE names profile '\(files.profileName)', which \(files.searchedPaths.isEmpty ? "no shared file" : files.searchedPaths) does not define"
            )
        }
        for (path, properties) in sections {
            let source = CredentialSource.profile(name: files.profileName, file: path)
            switch (properties["aws_access_key_id"].flatMap(Self.nonEmpty), properties["aws_secret_access_key"].flatMap(Self.nonEmpty)) {
            case (nil, nil):
                continue
            case (let accessKeyID?, let secretAccessKey?):
                self.source = source
                self.keys = AWSCredentials(
                    accessKeyID: accessKeyID,
                    secretAccessKey: secretAccessKey,
                    sessionToken: properties["aws_session_token"].flatMap(Self.nonEmpty)
                )
                return
            case (nil, _):
                throw AWSAccessError.incompleteConfiguration("\(source): aws_secret_access_key is set but aws_access_key_id is not")
            case (_, nil):
                throw AWSAccessError.incompleteConfiguration("\(source): aws_access_key_id is set but aws_secret_access_key is not")
            }
        }
        return nil
    }

    /// The keys read when the provider was created.
    public func credentials() async throws -> AWSCredentials {
        self.keys
    }

    private static func nonEmpty(_ value: String) -> String? {
        value.isEmpty ? nil : value
    }
}
