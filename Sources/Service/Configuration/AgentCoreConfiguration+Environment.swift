import AgentRequest
import BedrockAgentCore
import Foundation

/// `AGENTCORE_RUNTIMES` (`name=arn[:qualifier],...`) and `ALLOWED_AGENT_RUNTIME_ARNS`, checked
/// against each other and against `ALLOWED_AGENT_IDS`.
extension AgentCoreConfiguration {
    init(reader: SettingReader, allowedAgentIds: Set<String>?) throws(ConfigurationError) {
        self.init()
        if let text = reader.environment["ALLOWED_AGENT_RUNTIME_ARNS"], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            var arns: Set<String> = []
            for arn in Self.items(text) {
                if let problem = AgentCoreIdentifier.runtimeArn.violation(in: arn) {
                    throw ConfigurationError(source: "ALLOWED_AGENT_RUNTIME_ARNS", problem: "holds '\(arn)': \(problem)")
                }
                arns.insert(arn)
            }
            self.allowedArns = arns
        }
        guard let text = reader.environment["AGENTCORE_RUNTIMES"], !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        let source = "AGENTCORE_RUNTIMES"
        for item in Self.items(text) {
            guard let equals = item.firstIndex(of: "=") else {
                throw ConfigurationError(source: source, problem: "holds '\(item)', which is not name=arn[:qualifier]")
            }
            let name = String(item[..<equals])
            guard Self.isName(name) else {
                throw ConfigurationError(source: source, problem: "names a runtime '\(name)': a name is 1 to 64 letters, digits, '_' or '-'")
            }
            guard self.runtimes[name] == nil else {
                throw ConfigurationError(source: source, problem: "names '\(name)' twice")
            }
            if allowedAgentIds?.contains(name) == true {
                throw ConfigurationError(source: source, problem: "names '\(name)', which ALLOWED_AGENT_IDS holds as a Bedrock agent too")
            }
            // An ARN has six `:`-separated fields; a seventh is the qualifier.
            var fields = item[item.index(after: equals)...].split(separator: ":", omittingEmptySubsequences: false)
            let qualifier = fields.count == 7 ? String(fields.removeLast()) : nil
            let arn = fields.joined(separator: ":")
            if let problem = AgentCoreIdentifier.runtimeArn.violation(in: arn)
                ?? qualifier.flatMap({ AgentCoreIdentifier.qualifier.violation(in: $0) })
            {
                throw ConfigurationError(source: source, problem: "gives '\(name)' an invalid runtime: \(problem)")
            }
            if let allowed = self.allowedArns, !allowed.contains(arn) {
                throw ConfigurationError(source: source, problem: "gives '\(name)' a runtime that ALLOWED_AGENT_RUNTIME_ARNS does not hold")
            }
            self.runtimes[name] = Runtime(arn: arn, qualifier: qualifier)
        }
    }

    private static func items(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func isName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
