import AWSAccess
import AgentRequest
import BedrockAgentRuntime
import Foundation
import Logging

/// Every setting of the service, read from environment variables (and a `.env` file, which the real
/// environment overrides). The README's configuration table lists them with their defaults.
struct ServiceConfiguration: Sendable {
    /// Which browser origins may call the API.
    enum AllowedOrigins: Sendable, Equatable {
        case any
        case only(Set<String>)
    }

    /// How log lines are written.
    enum LogFormat: String, Sendable {
        /// `2024-01-01 12:00:00 - app - INFO - Message - {"key": "value"}`, the original's format.
        case text
        /// One JSON object a line.
        case json
    }

    var host = "0.0.0.0"
    var port = 8000
    /// Forward Bedrock's traces (and ask for them) and log prompts and answers.
    var debugMode = false
    var allowedOrigins = AllowedOrigins.any
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text
    var defaultAgentAliasId = "TSTALIASID"
    /// The agent of a `/api/chat` request that names none (and the playground's first agent).
    var defaultAgentId: String?
    /// Whether `GET /playground` serves the chat page.
    var playgroundEnabled = true
    /// `USAGE_METERING`: ask Bedrock for traces on every call and read the token usage out of them.
    var usageMetering = true
    /// OpenTelemetry tracing, from the `OTEL_*` variables.
    var tracing = TracingConfiguration()
    /// When set, the only agents the API may invoke.
    var allowedAgentIds: Set<String>?
    /// The AgentCore Runtimes by name, and which may be invoked.
    var agentCore = AgentCoreConfiguration()
    var maxInputCharacters = 25_000
    var maxRequestBytes = 1_048_576
    var maxConcurrentStreams = 1_000
    /// The default of a request's `stream_final_response`: without it Bedrock answers in one chunk.
    var streamFinalResponse = true
    /// Attempts at InvokeAgent before any event arrived (throttling, 5xx, connection failures).
    var upstreamMaxAttempts = 3
    var connectTimeout = Duration.seconds(5)
    var firstEventTimeout = Duration.seconds(120)
    var idleTimeout = Duration.seconds(60)
    var streamTimeout = Duration.seconds(600)
    var shutdownGrace = Duration.seconds(25)
    /// How long an SSE stream may write nothing before a `: ping` comment keeps it alive.
    var heartbeat = Duration.seconds(15)
    var healthIdentityTimeout = Duration.seconds(2)
    /// How long a connection may wait for its next request. A load balancer in front must close
    /// first (its idle timeout shorter), or it could send a request on a connection being closed.
    var keepAliveTimeout = Duration.seconds(620)
    /// The longest a request may take to arrive, from its first byte to its last (head and body).
    var requestReadTimeout = Duration.seconds(20)
    /// Client connections open at once; by default derived from the file-descriptor limit
    /// (``OpenFileLimit/defaultMaxConnections(limit:)``).
    var maxConnections: Int
    /// The process's file-descriptor limit the connection cap was derived from.
    var openFileLimit: Int
    /// Who may invoke agents (`AUTH_MODE` and the settings of each method).
    var auth = AuthConfiguration()
    /// The variables the AWS settings (region, endpoints, credentials) are read from.
    var awsEnvironment: AWSEnvironment
    var region: AWSRegion
    var endpoints: AWSEndpoints

    /// Reads the settings; the first invalid one is an error naming its variable.
    /// `openFileLimit` is the process's `RLIMIT_NOFILE`, which `MAX_CONNECTIONS` must stay below.
    init(environment: [String: String], homeDirectory: String?, openFileLimit: Int = OpenFileLimit.current()) throws(ConfigurationError) {
        self.openFileLimit = openFileLimit
        self.maxConnections = OpenFileLimit.defaultMaxConnections(limit: openFileLimit)
        let awsEnvironment = AWSEnvironment(variables: environment, homeDirectory: homeDirectory)
        do {
            self.region = try AWSRegion.resolve(environment: awsEnvironment)
            self.endpoints = try AWSEndpoints(region: self.region, environment: awsEnvironment)
        } catch {
            throw ConfigurationError(source: "AWS settings", problem: "are invalid: \(error)")
        }
        self.awsEnvironment = awsEnvironment

        let reader = SettingReader(environment: environment)
        self.host = try reader.text("HOST") ?? self.host
        self.port = try reader.integer("PORT", in: 0...65_535) ?? self.port
        self.debugMode = try reader.boolean("DEBUG_MODE") ?? self.debugMode
        self.allowedOrigins = try reader.origins("ALLOWED_ORIGINS") ?? self.allowedOrigins
        self.logLevel = try reader.logLevel("LOG_LEVEL") ?? self.logLevel
        self.logFormat = try reader.choice("LOG_FORMAT", LogFormat.self) ?? self.logFormat
        self.defaultAgentAliasId = try reader.identifier("DEFAULT_AGENT_ALIAS_ID", .agentAliasId) ?? self.defaultAgentAliasId
        self.allowedAgentIds = try reader.agentIds("ALLOWED_AGENT_IDS")
        self.agentCore = try AgentCoreConfiguration(reader: reader, allowedAgentIds: self.allowedAgentIds)
        self.defaultAgentId = try reader.identifier("DEFAULT_AGENT_ID", .agentId)
        self.playgroundEnabled = try reader.boolean("PLAYGROUND_ENABLED") ?? self.playgroundEnabled
        self.usageMetering = try reader.boolean("USAGE_METERING") ?? self.usageMetering
        self.tracing = try TracingConfiguration(reader: reader)
        self.maxInputCharacters = try reader.integer("MAX_INPUT_CHARS", in: 1...25_000_000) ?? self.maxInputCharacters
        self.maxRequestBytes = try reader.integer("MAX_REQUEST_BYTES", in: 1_024...100_000_000) ?? self.maxRequestBytes
        self.maxConcurrentStreams = try reader.integer("MAX_CONCURRENT_STREAMS", in: 1...1_000_000) ?? self.maxConcurrentStreams
        self.streamFinalResponse = try reader.boolean("STREAM_FINAL_RESPONSE") ?? self.streamFinalResponse
        self.upstreamMaxAttempts = try reader.integer("UPSTREAM_MAX_ATTEMPTS", in: 1...10) ?? self.upstreamMaxAttempts
        self.connectTimeout = try reader.seconds("CONNECT_TIMEOUT_SECONDS") ?? self.connectTimeout
        self.firstEventTimeout = try reader.seconds("FIRST_EVENT_TIMEOUT_SECONDS") ?? self.firstEventTimeout
        self.idleTimeout = try reader.seconds("IDLE_TIMEOUT_SECONDS") ?? self.idleTimeout
        self.streamTimeout = try reader.seconds("STREAM_TIMEOUT_SECONDS") ?? self.streamTimeout
        self.shutdownGrace = try reader.seconds("SHUTDOWN_GRACE_SECONDS", allowingZero: true) ?? self.shutdownGrace
        self.heartbeat = try reader.seconds("HEARTBEAT_SECONDS") ?? self.heartbeat
        self.healthIdentityTimeout = try reader.seconds("HEALTH_IDENTITY_TIMEOUT_SECONDS") ?? self.healthIdentityTimeout
        self.keepAliveTimeout = try reader.seconds("KEEP_ALIVE_TIMEOUT_SECONDS") ?? self.keepAliveTimeout
        self.requestReadTimeout = try reader.seconds("REQUEST_READ_TIMEOUT_SECONDS") ?? self.requestReadTimeout
        self.auth = try AuthConfiguration(reader: reader)
        if self.auth.principalTokensPerHour != nil, !self.usageMetering {
            throw ConfigurationError(
                source: "PRINCIPAL_TOKENS_PER_HOUR",
                problem: "is set, but USAGE_METERING=false: without metering no answer's tokens are known"
            )
        }
        let highest = OpenFileLimit.highestMaxConnections(limit: openFileLimit)
        if let maxConnections = try reader.integer("MAX_CONNECTIONS", in: 1...Int(Int32.max)) {
            guard maxConnections <= highest else {
                throw ConfigurationError(
                    source: "MAX_CONNECTIONS",
                    problem: "is \(maxConnections), but the open-file limit (ulimit -n) is \(openFileLimit): "
                        + "at most \(highest) leaves the \(OpenFileLimit.reserve) descriptors the process needs besides connections"
                )
            }
            self.maxConnections = maxConnections
        }
    }

    /// Whether `host` (a listening address or a URL's host) is this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// What debug mode allows, for the parts that ask.
    var debug: DebugPolicy { DebugPolicy(enabled: self.debugMode) }

    /// The settings request bodies are validated against.
    var requestRules: RequestRules {
        RequestRules(
            maxInputCharacters: self.maxInputCharacters,
            defaultAgentAliasId: self.defaultAgentAliasId,
            allowedAgentIds: self.allowedAgentIds,
            agentCore: self.agentCore,
            streamFinalResponse: self.streamFinalResponse,
            debug: self.debug,
            usageMetering: self.usageMetering
        )
    }

    /// The process environment over the `.env` file of the working directory.
    static func load() throws(ConfigurationError) -> ServiceConfiguration {
        let process = ProcessInfo.processInfo.environment
        let merged = try DotEnvFile.load(path: ".env").merging(process) { _, real in real }
        return try ServiceConfiguration(environment: merged, homeDirectory: process["HOME"], openFileLimit: OpenFileLimit.raiseToHardLimit())
    }
}

/// Typed reads of environment variables, each failure naming the variable and the value.
struct SettingReader {
    let environment: [String: String]

    func text(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = self.environment[name]?.trimmingCharacters(in: .whitespaces) else { return nil }
        guard !value.isEmpty else { throw ConfigurationError(source: name, problem: "is set but empty") }
        return value
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = try self.text(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(source: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func seconds(_ name: String, allowingZero: Bool = false) throws(ConfigurationError) -> Duration? {
        guard let text = try self.text(name) else { return nil }
        guard let value = Double(text), value.isFinite, value > 0 || (allowingZero && value == 0), value <= 86_400 else {
            throw ConfigurationError(
                source: name,
                problem: "must be a number of seconds \(allowingZero ? "from 0" : "above 0") up to 86400, got '\(text)'"
            )
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    func boolean(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let text = try self.text(name) else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(source: name, problem: "must be true or false, got '\(text)'")
        }
    }

    func choice<Choice: RawRepresentable<String>>(_ name: String, _: Choice.Type) throws(ConfigurationError) -> Choice? {
        guard let text = try self.text(name) else { return nil }
        guard let choice = Choice(rawValue: text.lowercased()) else {
            throw ConfigurationError(source: name, problem: "must be one of the documented values, got '\(text)'")
        }
        return choice
    }

    func logLevel(_ name: String) throws(ConfigurationError) -> Logger.Level? {
        guard let text = try self.text(name) else { return nil }
        let levels: [String: Logger.Level] = [
            "TRACE": .trace, "DEBUG": .debug, "INFO": .info, "NOTICE": .notice, "WARNING": .warning, "WARN": .warning,
            "ERROR": .error, "CRITICAL": .critical,
        ]
        guard let level = levels[text.uppercased()] else {
            throw ConfigurationError(source: name, problem: "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got '\(text)'")
        }
        return level
    }

    func identifier(_ name: String, _ rule: BedrockIdentifier) throws(ConfigurationError) -> String? {
        guard let text = try self.text(name) else { return nil }
        if let problem = rule.violation(in: text) {
            throw ConfigurationError(source: name, problem: "is not valid: \(problem), got '\(text)'")
        }
        return text
    }

    /// A comma-separated list of agent ids; empty means no restriction, as unset does.
    func agentIds(_ name: String) throws(ConfigurationError) -> Set<String>? {
        guard let text = self.environment[name], !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        var ids: Set<String> = []
        for id in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !id.isEmpty {
            if let problem = BedrockIdentifier.agentId.violation(in: id) {
                throw ConfigurationError(source: name, problem: "holds '\(id)', which is not an agent id: \(problem)")
            }
            ids.insert(id)
        }
        return ids
    }

    func origins(_ name: String) throws(ConfigurationError) -> ServiceConfiguration.AllowedOrigins? {
        guard let text = try self.text(name) else { return nil }
        let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if origins == ["*"] { return .any }
        for origin in origins {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                url.path.isEmpty, url.query == nil
            else {
                throw ConfigurationError(source: name, problem: "holds '\(origin)', which is not an origin like https://app.example.com")
            }
        }
        return .only(Set(origins))
    }
}
