/// A setting that stops start-up, with the variable or file line it came from.
struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The variable name, or `file:line` for a malformed `.env` line.
    var source: String
    var problem: String

    var description: String { "Invalid configuration: \(self.source) \(self.problem)" }
}
