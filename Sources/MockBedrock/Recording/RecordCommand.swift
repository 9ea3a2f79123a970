import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging

/// `MockBedrock record --fixtures DIR [--upstream URL] [--redact]`: listens like the mock and
/// forwards each InvokeAgent and InvokeAgentRuntime call to AWS (or `--upstream`), signed with the
/// recorder's own credentials from the standard chain, streaming each answer back as it arrives
/// and recording it under `DIR/recordings/`, where `MockBedrock --fixtures DIR` replays it.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Forward InvokeAgent and InvokeAgentRuntime upstream, re-signed, and record each answer as a fixture.",
        discussion: """
            Point a client (the service's AWS_ENDPOINT_URL, boto3's endpoint_url) at the recorder. \
            Credentials and region come from the standard AWS chain (environment, profile, SSO, \
            container, instance), so a developer's profile works; the client's own signature is \
            not checked. Each answer is written to DIR/recordings/agents/ID/ (or runtimes/NAME/) \
            and a summary line printed.
            """
    )

    @Option(help: "Folder to record into; `MockBedrock --fixtures` replays it.")
    var fixtures: String
    @Option(
        help:
            "Base URL to forward to (default: AWS's regional endpoints, Bedrock Agent Runtime and Bedrock AgentCore, or AWS_ENDPOINT_URL_* when set)."
    )
    var upstream: String?
    @Option(help: "Address to listen on. The recorder signs with your credentials for whoever reaches it: keep it on loopback.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on, 0 for any free port.")
    var port = 4566
    @Option(help: "Region to sign for (default: the AWS chain's, AWS_REGION or the profile's, else us-east-1).")
    var region: String?
    @Flag(help: "Replace account ids, ARNs' accounts and the session ids before writing, so the fixtures can be committed.")
    var redact = false

    func validate() throws {
        if let upstream {
            guard let url = URL(string: upstream), url.scheme == "http" || url.scheme == "https", url.host != nil, url.query == nil else {
                throw ValidationError("--upstream must be an http or https base URL, got '\(upstream)'")
            }
        }
        guard (0...65535).contains(self.port) else { throw ValidationError("--port must be in 0...65535, got \(self.port)") }
        if let region,
            region.isEmpty || !region.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) })
        {
            throw ValidationError("--region must be a region name such as us-east-1, got '\(region)'")
        }
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "MockBedrock-record")
            logger.logLevel = .info
            return logger
        }()
        let environment = AWSEnvironment.process
        let proxy: RecordingProxy
        do {
            let region = try self.region.map(AWSRegion.init) ?? AWSRegion.resolve(environment: environment)
            let endpoints = try AWSEndpoints(region: region, environment: environment)
            let base = self.upstream.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            proxy = RecordingProxy(
                invokeAgentUpstream: base ?? endpoints.bedrockAgentRuntime,
                agentCoreUpstream: base ?? endpoints.bedrockAgentCore,
                region: region.name,
                credentials: try CredentialProviderChain(environment: environment, httpClient: .shared, logger: logger),
                writer: RecordingWriter(fixtures: URL(fileURLWithPath: self.fixtures), redacts: self.redact),
                httpClient: .shared,
                logger: logger
            )
        } catch {
            throw ValidationError("cannot record: \(error)")
        }
        if !["127.0.0.1", "::1", "localhost"].contains(self.host) {
            logger.warning(
                "The recorder listens beyond this machine: whoever reaches it calls AWS with your credentials",
                metadata: ["host": "\(self.host)"]
            )
        }
        let router = Router(context: MockRequestContext.self)
        proxy.register(on: router)
        let upstreams = "\(proxy.invokeAgentUpstream) \(proxy.agentCoreUpstream)"
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(self.host, port: self.port), serverName: "MockBedrock-record"),
            onServerRunning: { channel in
                logger.info(
                    "MockBedrock recording",
                    metadata: ["port": "\(channel.localAddress?.port ?? 0)", "upstream": "\(upstreams)", "fixtures": "\(self.fixtures)"]
                )
            },
            logger: logger
        )
        try await application.runService()
    }
}
