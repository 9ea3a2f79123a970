import Testing

@testable import AWSAccess

@Suite("Environment credentials")
struct EnvironmentCredentialProviderTests {
    @Test("keys and session token come from the variables")
    func keys() async throws {
        let environment = AWSEnvironment(
            variables: [
                "AWS_ACCESS_KEY_ID": TestKeys.accessKeyID, "AWS_SECRET_ACCESS_KEY": TestKeys.secretAccessKey,
                "AWS_SESSION_TOKEN": TestKeys.sessionToken,
            ],
            homeDirectory: nil
        )
        let provider = try #require(try EnvironmentCredentialProvider(environment: environment))
        let credentials = try await provider.credentials()
        #expect(
            credentials
                == AWSCredentials(accessKeyID: TestKeys.accessKeyID, secretAccessKey: TestKeys.secretAccessKey, sessionToken: TestKeys.sessionToken)
        )
        #expect(provider.source == .environment)
    }

    @Test("unset and empty variables mean not configured")
    func notConfigured() throws {
        #expect(try EnvironmentCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: nil)) == nil)
        let empty = AWSEnvironment(variables: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""], homeDirectory: nil)
        #expect(try EnvironmentCredentialProvider(environment: empty) == nil)
    }

    @Test("half the keys is an error naming the missing variable, not the secret")
    func incomplete() throws {
        let secretOnly = AWSEnvironment(variables: ["AWS_SECRET_ACCESS_KEY": TestKeys.secretAccessKey], homeDirectory: nil)
        let error = try #require(throws: AWSAccessError.incompleteConfiguration) { try EnvironmentCredentialProvider(environment: secretOnly) }
        #expect(error.detail.contains("AWS_ACCESS_KEY_ID"))
        #expect(!TestKeys.leaksSecret(error.description))
        let idOnly = AWSEnvironment(variables: ["AWS_ACCESS_KEY_ID": TestKeys.accessKeyID], homeDirectory: nil)
        #expect(throws: AWSAccessError.incompleteConfiguration) { try EnvironmentCredentialProvider(environment: idOnly) }
    }
}
