import Glibc
import Testing

@testable import AWSAccess

@Suite("Shared files: parser and profile credentials")
struct ProfileCredentialProviderTests {
    @Test("the INI parser reads sections, comments and nested settings")
    func parser() throws {
        let file = try ProfileFile(
            path: "/test/config",
            contents: """
                # comment
                ; another comment
                [default]
                region = eu-west-1 # trailing comment
                Output=json

                [profile dev]
                aws_access_key_id = AKIDDEV
                s3 =
                  max_concurrent_requests = 10
                [ profile   spaced ]
                region=us-west-2
                """
        )
        #expect(file.sections["default"] == ["region": "eu-west-1", "output": "json"])
        #expect(file.sections["profile dev"] == ["aws_access_key_id": "AKIDDEV", "s3": ""])
        #expect(file.sections["profile spaced"] == ["region": "us-west-2"])
    }

    @Test(
        "malformed files are errors naming the file and line, never the line's text",
        arguments: [
            ("aws_secret_access_key = \(TestKeys.secretAccessKey)", 1),
            ("[default]\naws_secret_access_key \(TestKeys.secretAccessKey)", 2),
            ("[default\naws_secret_access_key = \(TestKeys.secretAccessKey)", 1),
            ("[]\n", 1),
            ("[default]\n = \(TestKeys.secretAccessKey)", 2),
            ("[default]\n   \(TestKeys.secretAccessKey)", 2),
        ]
    )
    func malformed(contents: String, line: Int) throws {
        let error = try #require(throws: AWSAccessError.malformedProfileFile) {
            try ProfileFile(path: "/home/test/.aws/credentials", contents: contents)
        }
        #expect(error.detail.hasPrefix("/home/test/.aws/credentials line \(line):"))
        #expect(!TestKeys.leaksSecret(error.description))
    }

    @Test("the default profile of ~/.aws/credentials")
    func defaultProfile() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(
                home + "/.aws/credentials",
                "[default]\naws_access_key_id = \(TestKeys.accessKeyID)\naws_secret_access_key = \(TestKeys.secretAccessKey)\n"
            )
            let provider = try #require(try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home)))
            let credentials = try await provider.credentials()
            #expect(credentials == AWSCredentials(accessKeyID: TestKeys.accessKeyID, secretAccessKey: TestKeys.secretAccessKey))
            #expect(provider.source == .profile(name: "default", file: home + "/.aws/credentials"))
        }
    }

    @Test("AWS_PROFILE selects a [profile NAME] of ~/.aws/config, with a session token")
    func namedProfileInConfig() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(
                home + "/.aws/config",
                """
                [default]
                aws_access_key_id = AKIDDEFAULT
                aws_secret_access_key = other
                [profile dev]
                aws_access_key_id = \(TestKeys.accessKeyID)
                aws_secret_access_key = \(TestKeys.secretAccessKey)
                aws_session_token = \(TestKeys.sessionToken)
                """
            )
            let environment = AWSEnvironment(variables: ["AWS_PROFILE": "dev"], homeDirectory: home)
            let provider = try #require(try ProfileCredentialProvider(environment: environment))
            let credentials = try await provider.credentials()
            #expect(credentials.accessKeyID == TestKeys.accessKeyID)
            #expect(credentials.sessionToken == TestKeys.sessionToken)
            #expect(provider.source == .profile(name: "dev", file: home + "/.aws/config"))
        }
    }

    @Test("the credentials file wins over the config file; file variables and ~ are honoured")
    func fileVariables() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/custom/creds", "[ci]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = s1\n")
            try writeFile(home + "/custom/conf", "[profile ci]\naws_access_key_id = AKIDCONF\naws_secret_access_key = s2\n")
            let environment = AWSEnvironment(
                variables: ["AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": "~/custom/creds", "AWS_CONFIG_FILE": home + "/custom/conf"],
                homeDirectory: home
            )
            let provider = try #require(try ProfileCredentialProvider(environment: environment))
            #expect(try await provider.credentials().accessKeyID == "AKIDCREDS")
            #expect(provider.source == .profile(name: "ci", file: home + "/custom/creds"))
        }
    }

    @Test("a missing implicit default profile, or one without keys, is not configured")
    func notConfigured() async throws {
        try await withTemporaryDirectory { home in
            #expect(try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home)) == nil)
            #expect(try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: nil)) == nil)
            try writeFile(home + "/.aws/config", "[default]\nregion = eu-central-1\n")
            #expect(try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home)) == nil)
        }
    }

    @Test("AWS_PROFILE naming an undefined profile is an error")
    func profileNotFound() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/.aws/credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = B\n")
            let environment = AWSEnvironment(variables: ["AWS_PROFILE": "prod"], homeDirectory: home)
            let error = try #require(throws: AWSAccessError.profileNotFound) { try ProfileCredentialProvider(environment: environment) }
            #expect(error.detail.contains("'prod'"))
            #expect(error.detail.contains(home + "/.aws/credentials"))
        }
    }

    @Test("a key id without a secret is an error naming the profile and file")
    func incomplete() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/.aws/credentials", "[default]\naws_access_key_id = \(TestKeys.accessKeyID)\n")
            let error = try #require(throws: AWSAccessError.incompleteConfiguration) {
                try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home))
            }
            #expect(error.detail.contains("profile 'default' in \(home)/.aws/credentials"))
            #expect(error.detail.contains("aws_secret_access_key"))
        }
    }

    @Test("a malformed or unreadable file is an error naming it, never the secret")
    func malformedFile() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/.aws/credentials", "[default]\naws_access_key_id = AKID\naws_secret_access_key \(TestKeys.secretAccessKey)\n")
            let error = try #require(throws: AWSAccessError.malformedProfileFile) {
                try ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home))
            }
            #expect(error.detail.contains(home + "/.aws/credentials line 3"))
            #expect(!TestKeys.leaksSecret(error.description))

            let directoryAsFile = AWSEnvironment(variables: ["AWS_CONFIG_FILE": home + "/.aws"], homeDirectory: nil)
            let unreadable = try #require(throws: AWSAccessError.unreadableFile) { try ProfileCredentialProvider(environment: directoryAsFile) }
            #expect(unreadable.detail.contains(home + "/.aws"))
        }
    }

    @Test("/dev/null as either shared file reads as empty, as botocore reads it")
    func devNull() throws {
        let environment = AWSEnvironment(
            variables: ["AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"],
            homeDirectory: nil
        )
        let files = try SharedConfigFiles(environment: environment)
        #expect(files.credentials?.file?.sections.isEmpty == true)
        #expect(files.config?.file?.sections.isEmpty == true)
        #expect(files.region == nil)
    }

    @Test("a FIFO, a device other than /dev/null or a huge file is refused, naming it, without a read that could block")
    func notRegularFiles() async throws {
        try await withTemporaryDirectory { home in
            let fifo = home + "/fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            let huge = home + "/huge"
            try writeFile(huge, String(repeating: "# comment\n", count: 120_000))
            for path in [fifo, "/dev/zero", huge] {
                let environment = AWSEnvironment(variables: ["AWS_CONFIG_FILE": path], homeDirectory: nil)
                let error = try #require(throws: AWSAccessError.unreadableFile) { try SharedConfigFiles(environment: environment) }
                #expect(error.detail.contains(path))
            }
        }
    }
}
