/// The shared credentials and config files of an environment and the profile selected in them, as
/// the AWS SDKs find them.
///
/// The profile is `AWS_PROFILE`, else `default`. The files are `AWS_SHARED_CREDENTIALS_FILE` and
/// `AWS_CONFIG_FILE`, else `~/.aws/credentials` and `~/.aws/config`. In the config file a profile's
/// section is `[profile NAME]` (`[default]` for the default); in the credentials file it is `[NAME]`.
struct SharedConfigFiles {
    /// The selected profile.
    let profileName: String
    /// Whether `AWS_PROFILE` chose the profile (rather than falling back to `default`).
    let profileIsExplicit: Bool
    /// The credentials file and its path; the file is `nil` when it does not exist.
    let credentials: (path: String, file: ProfileFile?)?
    /// The config file and its path; the file is `nil` when it does not exist.
    let config: (path: String, file: ProfileFile?)?

    /// Finds and parses the files of `environment`.
    /// - Throws: ``AWSAccessError/malformedProfileFile`` or ``AWSAccessError/unreadableFile``.
    init(environment: AWSEnvironment) throws {
        self.profileName = environment["AWS_PROFILE"] ?? "default"
        self.profileIsExplicit = environment["AWS_PROFILE"] != nil
        let credentialsPath =
            environment["AWS_SHARED_CREDENTIALS_FILE"].map(environment.expandingHome)
            ?? environment.homeDirectory.map { $0 + "/.aws/credentials" }
        let configPath =
            environment["AWS_CONFIG_FILE"].map(environment.expandingHome)
            ?? environment.homeDirectory.map { $0 + "/.aws/config" }
        self.credentials = try credentialsPath.map { ($0, try ProfileFile.load(path: $0)) }
        self.config = try configPath.map { ($0, try ProfileFile.load(path: $0)) }
    }

    /// The profile's section in the credentials file, with the file's path.
    var credentialsSection: (path: String, properties: [String: String])? {
        guard let (path, file) = self.credentials, let properties = file?.sections[self.profileName] else { return nil }
        return (path, properties)
    }

    /// The profile's section in the config file, with the file's path.
    var configSection: (path: String, properties: [String: String])? {
        guard let (path, file) = self.config, let sections = file?.sections else { return nil }
        let names = self.profileName == "default" ? ["default", "profile default"] : ["profile \(self.profileName)"]
        guard let properties = names.lazy.compactMap({ sections[$0] }).first else { return nil }
        return (path, properties)
    }

    /// The paths searched, for messages.
    var searchedPaths: String {
        [self.credentials?.path, self.config?.path].compactMap { $0 }.joined(separator: " and ")
    }

    /// The profile's `region`, from the config file, else the credentials file.
    var region: String? {
        [self.configSection, self.credentialsSection].lazy.compactMap { $0?.properties["region"] }.first { !$0.isEmpty }
    }
}
