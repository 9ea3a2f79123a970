import Foundation

/// The process settings that the AWS SDKs read: environment variables and the home directory that
/// holds `~/.aws`.
///
/// Passed into the credential chain, region and endpoint resolution rather than read from the
/// process directly, so tests and embedding code decide what is seen.
public struct AWSEnvironment: Sendable {
    /// Environment variables by name.
    public var variables: [String: String]
    /// The home directory that `~/.aws/credentials`, `~/.aws/config` and a leading `~` in paths
    /// refer to; `nil` when there is none.
    public var homeDirectory: String?

    /// Creates an environment from explicit values.
    /// - Parameters:
    ///   - variables: Environment variables by name.
    ///   - homeDirectory: The home directory, `nil` for none.
    public init(variables: [String: String], homeDirectory: String?) {
        self.variables = variables
        self.homeDirectory = homeDirectory
    }

    /// The current process's environment variables and home directory (`HOME`, else the user's).
    public static var process: AWSEnvironment {
        let variables = ProcessInfo.processInfo.environment
        let home = variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
        return AWSEnvironment(variables: variables, homeDirectory: home)
    }

    /// The value of a variable; unset and empty are the same, as in the AWS SDKs.
    public subscript(_ name: String) -> String? {
        guard let value = self.variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// Expands a leading `~/` of a path setting to the home directory.
    func expandingHome(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = self.homeDirectory else { return path }
        return home + path.dropFirst()
    }

    /// Whether a boolean variable is set to `true`, in any letter case.
    func isTrue(_ name: String) -> Bool {
        self[name]?.lowercased() == "true"
    }
}
