import AWSAccess
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// MockBedrock: an offline AWS Bedrock Agent Runtime that replays fixtures as CRC-checked
/// event-stream frames, with STS and ECS credentials beside it, for development and CI.
@main
struct MockBedrock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MockBedrock",
        abstract: "An offline AWS Bedrock Agent Runtime that replays fixtures as event-stream frames.",
        subcommands: [MockServeCommand.self, RecordCommand.self, InspectCommand.self],
        defaultSubcommand: MockServeCommand.self
    )

    /// Runs Swift concurrency's jobs on NIO's event loops, so a task that reads one connection and
    /// writes another does not hop between two thread pools for every chunk.
    static func main() async {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await self.main(nil)
    }
}

/// `MockBedrock [serve]`: runs the server. Each option falls back to an environment variable.
struct MockServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve InvokeAgent, STS and container credentials.")

    @Option(help: "Address to listen on (MOCK_BEDROCK_HOST, default 127.0.0.1).")
    var host: String?
    @Option(help: "Port to listen on, 0 for any free port (MOCK_BEDROCK_PORT, default 4566).")
    var port: Int?
    @Option(help: "Fixtures folder (MOCK_BEDROCK_FIXTURES, default Fixtures).")
    var fixtures: String?
    @Option(help: "Region requests must be signed for (MOCK_BEDROCK_REGION, default us-east-1).")
    var region: String?
    @Option(help: "Account id STS reports (MOCK_BEDROCK_ACCOUNT, default 123456789012).")
    var account: String?
    @Option(help: "Test access key id; with the secret, signatures are verified in full (MOCK_BEDROCK_ACCESS_KEY_ID).")
    var accessKeyId: String?
    @Option(help: "Test secret access key (MOCK_BEDROCK_SECRET_ACCESS_KEY).")
    var secretAccessKey: String?
    @Option(help: "Lifetime in seconds of issued credentials (MOCK_BEDROCK_CREDENTIAL_LIFETIME, default 3600).")
    var credentialLifetime: Int?
    @Option(help: "Authorization the container-credentials endpoint requires (MOCK_BEDROCK_CONTAINER_TOKEN).")
    var containerToken: String?
    @Option(help: "Issuer URL of the OIDC issuer at /oidc (MOCK_BEDROCK_OIDC_ISSUER, default http://<Host header>/oidc).")
    var oidcIssuer: String?
    @Flag(help: "Replay recorded answers at once, not at their recorded pace (MOCK_BEDROCK_FULL_SPEED=true).")
    var fullSpeed = false

    func run() async throws {
        let configuration = try self.resolve(environment: ProcessInfo.processInfo.environment)
        var logger = Logger(label: "MockBedrock")
        logger.logLevel = .info
        let server: MockBedrockServer
        do {
            server = try MockBedrockServer(configuration: configuration, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        try await server.application().runService()
    }

    /// Flags first, then `MOCK_BEDROCK_…` variables, then defaults; a bad value names its source.
    func resolve(environment: [String: String]) throws -> MockBedrockConfiguration {
        func value(_ flag: String?, _ variable: String) -> (String, String)? {
            if let flag { return (flag, "--" + variable.dropFirst("MOCK_BEDROCK_".count).lowercased().replacingOccurrences(of: "_", with: "-")) }
            if let text = environment[variable] { return (text, variable) }
            return nil
        }
        func number(_ flag: Int?, _ variable: String, range: ClosedRange<Int>) throws -> Int? {
            if let flag {
                guard range.contains(flag) else { throw ValidationError("\(variable): \(flag) is outside \(range)") }
                return flag
            }
            guard let text = environment[variable] else { return nil }
            guard let parsed = Int(text), range.contains(parsed) else {
                throw ValidationError("\(variable) must be a whole number in \(range), got '\(text)'")
            }
            return parsed
        }
        var configuration = MockBedrockConfiguration()
        if let (host, _) = value(self.host, "MOCK_BEDROCK_HOST") { configuration.host = host }
        if let port = try number(self.port, "MOCK_BEDROCK_PORT", range: 0...65535) { configuration.port = port }
        if let (folder, _) = value(self.fixtures, "MOCK_BEDROCK_FIXTURES") { configuration.fixtures = URL(fileURLWithPath: folder) }
        if let (region, _) = value(self.region, "MOCK_BEDROCK_REGION") { configuration.region = region }
        if let (account, source) = value(self.account, "MOCK_BEDROCK_ACCOUNT") {
            guard account.count == 12, account.allSatisfy(\.isNumber) else {
                throw ValidationError("\(source) must be a 12-digit account id, got '\(account)'")
            }
            configuration.account = account
        }
        switch (value(self.accessKeyId, "MOCK_BEDROCK_ACCESS_KEY_ID"), value(self.secretAccessKey, "MOCK_BEDROCK_SECRET_ACCESS_KEY")) {
        case (nil, nil): break
        case (let key?, let secret?): configuration.credentials = AWSCredentials(accessKeyID: key.0, secretAccessKey: secret.0)
        case (let key?, nil): throw ValidationError("\(key.1) is set without a secret access key")
        case (nil, let secret?): throw ValidationError("\(secret.1) is set without an access key id")
        }
        if let lifetime = try number(self.credentialLifetime, "MOCK_BEDROCK_CREDENTIAL_LIFETIME", range: 1...43200) {
            configuration.issuedCredentialLifetime = .seconds(lifetime)
        }
        if let (token, _) = value(self.containerToken, "MOCK_BEDROCK_CONTAINER_TOKEN") { configuration.containerAuthorizationToken = token }
        if let (issuer, source) = value(self.oidcIssuer, "MOCK_BEDROCK_OIDC_ISSUER") {
            guard let url = URL(string: issuer), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("\(source) must be an http or https URL, got '\(issuer)'")
            }
            configuration.oidcIssuer = issuer
        }
        switch environment["MOCK_BEDROCK_FULL_SPEED"] {
        case nil, "", "false": configuration.fullSpeed = self.fullSpeed
        case "true": configuration.fullSpeed = true
        case let other?: throw ValidationError("MOCK_BEDROCK_FULL_SPEED must be true or false, got '\(other)'")
        }
        return configuration
    }
}
