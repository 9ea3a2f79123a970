import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import Synchronization

/// What usage metering and tracing cost: the service's CPU per stream (user and system time of
/// its process over the run, divided by the streams) with `USAGE_METERING` off and on, and with
/// tracing off and on, exporting by OTLP/HTTP to a local receiver of this benchmark's (which
/// answers every export at once and counts its bytes). The answer is MockBedrock's `LOADTEST`
/// with three orchestration steps before 100 chunks of 20 bytes: nine trace events as Bedrock
/// sends them, which Bedrock sends only when asked (metering asks on every call).
struct ObservabilityBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observability",
        abstract: "Service CPU per stream with usage metering off and on, and with tracing off and on."
    )

    @Option(help: "Folder of the release binaries.")
    var binaries = ".build/release"

    @Option(help: "Streams in each configuration.")
    var streams = 1_000

    @Option(help: "Streams at once.")
    var concurrency = 8

    @Option(help: "Orchestration steps (three trace events each) before the answer.")
    var steps = 3

    static let receiverPort = 24_318

    struct Configuration {
        var name: String
        var metering: Bool
        var tracing: Bool
    }

    static let configurations = [
        Configuration(name: "metering off, tracing off", metering: false, tracing: false),
        Configuration(name: "metering on, tracing off", metering: true, tracing: false),
        Configuration(name: "metering off, tracing on", metering: false, tracing: true),
        Configuration(name: "metering on, tracing on", metering: true, tracing: true),
    ]

    func run() async throws {
        let receiver = try await OTLPSink.start(port: Self.receiverPort)
        print(
            "Observability: \(self.streams) streams a configuration, \(self.concurrency) at a time, release binaries; "
                + "LOADTEST with \(self.steps) orchestration steps (\(self.steps * 3) trace events) and 100 chunks of 20 B"
        )
        print(pad("configuration", 30) + pad("service CPU per stream", 24) + pad("exported per stream", 22) + "usage on the completion")
        for configuration in Self.configurations {
            var environment = ["USAGE_METERING": configuration.metering ? "true" : "false"]
            if configuration.tracing {
                environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:\(Self.receiverPort)"
                // Big batches, as a busy service sends them.
                environment["OTEL_BSP_MAX_QUEUE_SIZE"] = "65536"
                environment["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "2048"
                environment["OTEL_BSP_SCHEDULE_DELAY"] = "1000"
            }
            let processes = try BenchmarkProcesses(binaries: self.binaries, maxConcurrentStreams: 1_000, serviceEnvironment: environment)
            defer { processes.stop() }
            try await BenchmarkProcesses.waitForService()
            try processes.checkRunning()
            _ = try await self.round(streams: self.concurrency * 4)
            try await Task.sleep(for: .seconds(1.5))
            let exportedBefore = receiver.bytes
            let before = processes.serviceMonitor.cpuTime
            let usage = try await self.round(streams: self.streams)
            // The last batches go out within the schedule delay; their export is the service's CPU too.
            if configuration.tracing { try await Task.sleep(for: .seconds(1.5)) }
            let cpu = processes.serviceMonitor.cpuTime - before
            let perStream = (Double(cpu.components.seconds) * 1e6 + Double(cpu.components.attoseconds) / 1e12) / Double(self.streams)
            let exported = (receiver.bytes - exportedBefore) / self.streams
            print(
                pad(configuration.name, 30) + pad(String(format: "%.0f µs", perStream), 24)
                    + pad(configuration.tracing ? "\(exported) B" : "-", 22) + (usage ?? "none")
            )
            processes.stop()
            try await Task.sleep(for: .milliseconds(500))
        }
        await receiver.close()
    }

    /// Runs `streams` streams, `concurrency` at a time; returns the usage one reported.
    private func round(streams: Int) async throws -> String? {
        let next = StreamCounter()
        return try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<min(self.concurrency, streams) {
                group.addTask {
                    var usage: String?
                    while next.take() < streams {
                        usage = try await self.stream()
                    }
                    return usage
                }
            }
            var usage: String?
            for try await reported in group { usage = usage ?? reported }
            return usage
        }
    }

    /// One stream; the `usage` of its completion line, if any.
    private func stream() async throws -> String? {
        let attributes: JSONValue = .object(["chunks": "100", "chunkBytes": "20", "delayMs": "0", "traces": .string("\(self.steps)")])
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(BenchmarkProcesses.servicePort)/api/agent/stream")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: JSONValue = .object(["input_text": "load", "agent_id": "LOADTEST", "session_attributes": attributes])
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var tail: [UInt8] = []
        for try await piece in response.body {
            tail.append(contentsOf: piece.readableBytesView)
            if tail.count > 8_192 { tail.removeFirst(tail.count - 8_192) }
        }
        let end = String(decoding: tail, as: UTF8.self)
        guard response.status == .ok, end.contains(#""chunks":100"#), end.contains(#""done":true"#) else {
            throw ValidationError("a stream did not complete: HTTP \(response.status.code), ending \(end.suffix(200))")
        }
        guard let range = end.range(of: #""usage":\{[^}]*\}"#, options: .regularExpression) else { return nil }
        return String(end[range].dropFirst(8))
    }
}

/// An OTLP/HTTP endpoint that takes every export and answers 200 with an empty
/// ExportTraceServiceResponse at once, counting the bytes of the requests' bodies.
final class OTLPSink: Sendable {
    private let channel: any Channel
    private let received: Received

    /// The bytes of the export bodies received so far.
    var bytes: Int { self.received.bytes.load(ordering: .relaxed) }

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
    }

    static func start(port: Int) async throws -> OTLPSink {
        let received = Received()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(received: received))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return OTLPSink(channel: channel, received: received)
    }

    func close() async {
        try? await self.channel.close()
    }

    final class Received: Sendable {
        let bytes = Atomic<Int>(0)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let received: Received

        init(received: Received) { self.received = received }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head: break
            case .body(let body): self.received.bytes.add(body.readableBytes, ordering: .relaxed)
            case .end:
                let head = HTTPResponseHead(
                    version: .http1_1,
                    status: .ok,
                    headers: ["Content-Type": "application/x-protobuf", "Content-Length": "0"]
                )
                context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
