import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Tracing

/// The Bedrock Agent streaming service: `bedrock-agent-streaming` serves; `bedrock-agent-streaming
/// healthcheck` probes a running instance, for container health checks without curl.
@main
struct BedrockAgentStreaming: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bedrock-agent-streaming",
        abstract: "Streams AWS Bedrock Agent answers as newline-delimited JSON.",
        version: ServiceVersion.current,
        subcommands: [ServeCommand.self, HealthCheckCommand.self, NewAPIKeyCommand.self, InstallAPIKeysCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Runs Swift concurrency's jobs on NIO's event loops, so a task that reads one connection and
    /// writes another does not hop between two thread pools for every chunk.
    static func main() async {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await self.main(nil)
    }
}

/// Serves the API until SIGTERM or SIGINT, configured by environment variables (README).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the API (the default).")

    func run() async throws {
        // A hangup before the SIGHUP handler is installed (``APIKeyReloader``) must not end the process.
        signal(SIGHUP, SIG_IGN)
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.load()
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            PythonLoggingFormatHandler(label: label, format: configuration.logFormat, level: configuration.logLevel)
        }
        let logger = Logger(label: "app")
        var tracing: StreamTracing?
        var telemetry: [any Service] = []
        if configuration.tracing.enabled {
            do {
                let (tracer, exporter) = try OTelTracing.make(configuration.tracing, logger: logger)
                // Hummingbird's TracingMiddleware finds the tracer here.
                InstrumentationSystem.bootstrap(tracer)
                tracing = StreamTracing(tracer: tracer, recordsContent: configuration.debugMode)
                telemetry = [SpanExportService(exporter: exporter)]
            } catch {
                FileHandle.standardError.write(Data("OTEL_*: the OpenTelemetry exporter cannot be set up: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        let clients = AWSHTTPClients(configuration: configuration)
        let service: ServiceApplication
        do {
            service = try ServiceApplication(
                configuration: configuration,
                clients: clients,
                logger: logger,
                tracing: tracing,
                telemetry: telemetry
            )
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            try? await clients.shutdown()
            throw ExitCode(2)
        }
        do {
            logger.info(
                "Service starting",
                metadata: [
                    "version": .string(ServiceVersion.current), "aws_region": .string(configuration.region.name),
                    "credentials_source": .string(service.credentials.source.name),
                    "bedrock_endpoint": .string(configuration.endpoints.bedrockAgentRuntime),
                    "auth_mode": .string(configuration.auth.modeName),
                    "tracing": .string(configuration.tracing.enabled ? "otlp" : "off"),
                ]
            )
            if !configuration.auth.isRequired && !ServiceConfiguration.isLoopback(configuration.host) {
                logger.warning(
                    "Listening without authentication: anyone who reaches this address can invoke agents; set AUTH_MODE",
                    metadata: ["host": .string(configuration.host)]
                )
            }
            try await service.run()
        } catch {
            logger.critical("Service stopped", metadata: ["error": "\(error)"])
            try? await clients.shutdown()
            throw ExitCode.failure
        }
        try await clients.shutdown()
    }
}

/// Exits 0 when the local service's `/health` answers 200 (healthy or degraded), else 1.
struct HealthCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "healthcheck", abstract: "Probe a running service's /health.")

    @Option(help: "The URL to probe; default http://127.0.0.1:$PORT/health.")
    var url: String?

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 3

    func run() async throws {
        let port = ProcessInfo.processInfo.environment["PORT"] ?? "8000"
        let probe = await Self.probe(url: self.url ?? "http://127.0.0.1:\(port)/health", timeout: self.timeout)
        print(probe.message)
        if !probe.healthy {
            throw ExitCode.failure
        }
    }

    /// Whether `url` answers 200 within `timeout` seconds, and the line that says so.
    static func probe(url: String, timeout: Int) async -> (healthy: Bool, message: String) {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(Int64(timeout)))
            guard response.status == .ok else {
                return (false, "unhealthy: \(url) answered \(response.status.code)")
            }
            return (true, "healthy: \(url)")
        } catch {
            return (false, "unhealthy: \(url): \(error)")
        }
    }
}
