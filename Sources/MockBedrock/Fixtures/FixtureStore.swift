import BedrockAgentCore
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore

/// The agents MockBedrock knows, read once from the fixtures folder: `ID.json` is a scripted
/// scenario and `ID.eventstream` a recording replayed byte for byte, both for agent id `ID`;
/// `runtimes/NAME.json` answers for the AgentCore Runtimes named `NAME` (``RuntimeScenario``);
/// `recordings/agents/ID/` and `recordings/runtimes/NAME/` hold the answers `MockBedrock record`
/// recorded (``Recording``). Other sub-folders and other files (such as `README.md`) are not read.
struct FixtureStore: Sendable {
    /// What answers for one agent id.
    enum Agent: Sendable {
        case scripted(Scenario)
        case recorded(ByteBuffer)
        /// Answers recorded by `MockBedrock record`, with their timing.
        case replayed(RecordedAgent)
        case load
    }

    /// What answers for one AgentCore Runtime name.
    enum Runtime: Sendable {
        case scripted(RuntimeScenario)
        case replayed(RecordedAgent)

        /// The scenario of a scripted runtime.
        var scenario: RuntimeScenario? {
            if case .scripted(let scenario) = self { scenario } else { nil }
        }
    }

    /// The built-in synthetic agent for benchmarks (see ``LoadAgent``).
    static let loadAgentId = "LOADTEST"

    private let agents: [String: Agent]
    private let runtimes: [String: Runtime]

    /// The agent ids, sorted, for logs and `GET /`.
    var agentIds: [String] { self.agents.keys.sorted() }
    /// The AgentCore Runtime names, sorted.
    var runtimeNames: [String] { self.runtimes.keys.sorted() }

    init(agents: [String: Agent], runtimes: [String: Runtime] = [:]) {
        self.agents = agents
        self.runtimes = runtimes
    }

    subscript(agentId: String) -> Agent? {
        self.agents[agentId]
    }

    /// What answers for the runtime `name` (an ARN's `runtime/NAME-XXXXXXXXXX`).
    func runtime(named name: String) -> Runtime? {
        self.runtimes[name]
    }

    /// Reads every fixture in `directory`; any file that cannot be used is an error naming it.
    static func load(from directory: URL) throws -> FixtureStore {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        } catch {
            throw FixtureError(file: directory.path, reason: "cannot list the fixtures folder (\(error.localizedDescription))")
        }
        var agents: [String: Agent] = [Self.loadAgentId: .load]
        for name in names {
            let url = directory.appendingPathComponent(name)
            let stem = url.deletingPathExtension().lastPathComponent
            let agent: Agent
            switch url.pathExtension {
            case "json": agent = .scripted(try Self.scenario(at: url))
            case "eventstream": agent = .recorded(try Self.recording(at: url))
            default: continue
            }
            if let problem = BedrockIdentifier.agentId.violation(in: stem) {
                throw FixtureError(file: url.path, reason: "the file name must be an agent id: \(problem)")
            }
            guard agents[stem] == nil else {
                throw FixtureError(file: url.path, reason: "agent id \(stem) is defined twice (or is the built-in load agent)")
            }
            agents[stem] = agent
        }
        let recordings = directory.appendingPathComponent("recordings")
        for (id, folder) in try Self.recordingFolders(in: recordings.appendingPathComponent("agents")) {
            if let problem = BedrockIdentifier.agentId.violation(in: id) {
                throw FixtureError(file: folder.path, reason: "the folder name must be an agent id: \(problem)")
            }
            switch agents[id] {
            case nil, .load?: break  // A recording of the built-in load agent replaces it.
            default: throw FixtureError(file: folder.path, reason: "agent id \(id) is defined twice")
            }
            agents[id] = .replayed(try RecordedAgent.load(from: folder, operation: "InvokeAgent"))
        }
        var runtimes = try Self.runtimes(in: directory.appendingPathComponent("runtimes"))
        for (name, folder) in try Self.recordingFolders(in: recordings.appendingPathComponent("runtimes")) {
            guard AgentCoreIdentifier.qualifier.violation(in: name) == nil else {
                throw FixtureError(
                    file: folder.path,
                    reason: "the folder name must be a runtime name: a letter, then up to 47 letters, digits or underscores"
                )
            }
            guard runtimes[name] == nil else {
                throw FixtureError(file: folder.path, reason: "runtime \(name) is defined twice")
            }
            runtimes[name] = .replayed(try RecordedAgent.load(from: folder, operation: "InvokeAgentRuntime"))
        }
        return FixtureStore(agents: agents, runtimes: runtimes)
    }

    /// The sub-folders of `directory` (none when it does not exist), by name.
    private static func recordingFolders(in directory: URL) throws -> [(String, URL)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else { return nil }
            return (name, url)
        }
    }

    /// `runtimes/NAME.json`, each for the runtimes named `NAME`; no folder, no runtimes.
    private static func runtimes(in directory: URL) throws -> [String: Runtime] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [:] }
        var runtimes: [String: Runtime] = [:]
        for name in names.sorted() where name.hasSuffix(".json") {
            let url = directory.appendingPathComponent(name)
            let stem = url.deletingPathExtension().lastPathComponent
            guard AgentCoreIdentifier.qualifier.violation(in: stem) == nil else {
                throw FixtureError(
                    file: url.path,
                    reason: "the file name must be a runtime name: a letter, then up to 47 letters, digits or underscores"
                )
            }
            runtimes[stem] = .scripted(try Self.decode(RuntimeScenario.self, at: url))
        }
        return runtimes
    }

    private static func scenario(at url: URL) throws -> Scenario {
        try Self.decode(Scenario.self, at: url)
    }

    private static func decode<Fixture: Decodable>(_: Fixture.Type, at url: URL) throws -> Fixture {
        do {
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        } catch let error as DecodingError {
            throw FixtureError(file: url.path, reason: error.fixtureDescription)
        } catch {
            throw FixtureError(file: url.path, reason: "\(error.localizedDescription)")
        }
    }

    /// Reads a recording and checks that it decodes cleanly, so a damaged file is found at start-up
    /// rather than mistaken for a fault of the client under test.
    private static func recording(at url: URL) throws -> ByteBuffer {
        let bytes: ByteBuffer
        do {
            bytes = ByteBuffer(bytes: try Data(contentsOf: url))
        } catch {
            throw FixtureError(file: url.path, reason: "\(error.localizedDescription)")
        }
        if let problem = EventStreamCheck.problem(in: bytes) {
            throw FixtureError(file: url.path, reason: "not a valid event stream: \(problem)")
        }
        return bytes
    }
}

/// A fixture that cannot be used, with the file it is in.
struct FixtureError: Error, CustomStringConvertible {
    var file: String
    var reason: String

    var description: String { "fixture \(self.file): \(self.reason)" }
}

extension DecodingError {
    /// Where in the JSON the problem is and what it is, in one line.
    var fixtureDescription: String {
        func path(_ context: Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "top level" : String(path.drop { $0 == "." })
        }
        switch self {
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "\(path(context)): missing '\(key.stringValue)'"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        @unknown default: return "\(self)"
        }
    }
}
