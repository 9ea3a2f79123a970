import AWSAccess
import ArgumentParser
import Authentication
import BedrockAgentRuntime
import ExtrasBase64
import Foundation

/// `bedrock-agent-streaming new-api-key --id ID`: a fresh random key, and the `API_KEYS_FILE`
/// entry that accepts it (only its SHA-256 is stored).
struct NewAPIKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-api-key",
        abstract: "Print a new random API key and its API_KEYS_FILE entry."
    )

    @Option(help: "The key's id: who holds it, on log lines and in Bedrock's principal_id (1 to 64 of [A-Za-z0-9._:-]).")
    var id: String

    @Option(parsing: .upToNextOption, help: "Agent ids the key may invoke (default: every agent ALLOWED_AGENT_IDS allows).")
    var agents: [String] = []

    func validate() throws {
        guard APIKeyFile.isValidId(self.id) else {
            throw ValidationError("--id must be 1 to 64 characters of [A-Za-z0-9._:-], got '\(self.id)'")
        }
        for agent in self.agents {
            if let problem = BedrockIdentifier.agentId.violation(in: agent) {
                throw ValidationError("--agents holds '\(agent)', which is not an agent id: \(problem)")
            }
        }
    }

    func run() throws {
        let (key, entry) = Self.make(id: self.id, agents: self.agents)
        print("API key (give it to its holder; it is not stored anywhere):")
        print("  \(key)")
        print("Entry for API_KEYS_FILE's \"keys\" list:")
        print("  \(entry)")
    }

    /// A key of 32 random bytes from the system's generator, base64url, and its entry as JSON.
    static func make(id: String, agents: [String]) -> (key: String, entry: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let key = "bas_" + Base64.encodeToString(bytes: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter])
        var fields: [String: JSONValue] = ["id": .string(id), "sha256": .string(Hashing.hex(Hashing.sha256(Array(key.utf8))))]
        if !agents.isEmpty { fields["agents"] = .array(agents.map(JSONValue.string)) }
        let data = (try? JSONEncoder.sortedKeys.encode(fields)) ?? Data()
        return (key, String(decoding: data, as: UTF8.self))
    }
}

/// `bedrock-agent-streaming install-api-keys --from-env VARIABLE --to PATH`: writes the API keys
/// file held by an environment variable (an ECS task's `secrets` entry from Secrets Manager) to
/// `PATH`, after checking it as the service will, so a bad secret stops the task's init container
/// with the reason instead of the service. The value itself is never printed.
struct InstallAPIKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-api-keys",
        abstract: "Write the API_KEYS_FILE held by an environment variable (a Secrets Manager secret) to a file."
    )

    @Option(help: "The environment variable holding the file's JSON.")
    var fromEnv: String

    @Option(help: "Where to write it (the service's API_KEYS_FILE).")
    var to: String

    func run() throws {
        guard let text = ProcessInfo.processInfo.environment[self.fromEnv] else {
            throw ValidationError("\(self.fromEnv) is not set: the task definition's secrets entry must name it")
        }
        let bytes = Array(text.utf8)
        let file: APIKeyFile
        do {
            file = try APIKeyFile(parsing: bytes)
        } catch {
            throw ValidationError("\(self.fromEnv) does not hold a valid API keys file: \(error.problem)")
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: self.to), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: self.to)
        } catch {
            throw ValidationError("cannot write \(self.to): \((error as NSError).localizedDescription)")
        }
        print("install-api-keys: wrote \(file.entries.count) keys to \(self.to)")
    }
}
