import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The three output formats side by side on the same answers (MockBedrock's `LOADTEST`, no
/// pauses), and the AgentCore Runtime backend beside InvokeAgent (MockBedrock's runtime
/// `loadtest`: a string event per chunk, or Strands' two events per chunk), as NDJSON: bytes on
/// the wire per stream (the response body) and the service's CPU per stream (user and system time
/// of its process over the run, divided by the streams), with streams run `concurrency` at a time
/// against the release binaries.
struct FormatsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats",
        abstract: "Bytes on the wire and service CPU per stream: NDJSON, SSE, the AI SDK UI message stream; InvokeAgent and AgentCore."
    )

    @Option(help: "Folder of the release binaries.")
    var binaries = ".build/release"

    @Option(help: "Streams of each format and answer.")
    var streams = 400

    @Option(help: "Streams at once.")
    var concurrency = 8

    enum Format: String, CaseIterable {
        case ndjson = "NDJSON"
        case sse = "SSE"
        case chat = "UI message stream"
        /// NDJSON from the AgentCore Runtime backend, one string event per chunk.
        case agentCoreText = "NDJSON, AgentCore"
        /// NDJSON from the AgentCore Runtime backend, Strands' two events per chunk.
        case agentCoreStrands = "NDJSON, AgentCore Strands"
    }

    func run() async throws {
        let processes = try BenchmarkProcesses(binaries: self.binaries, maxConcurrentStreams: 1_000)
        defer { processes.stop() }
        try await BenchmarkProcesses.waitForService()
        try processes.checkRunning()
        print("Formats: \(self.streams) streams each, \(self.concurrency) at a time, release binaries, no pauses between chunks")
        print(pad("answer", 14) + pad("format", 28) + pad("bytes per stream", 18) + "service CPU per stream")
        for (chunks, bytes) in [(100, 20), (1_000, 20)] {
            for format in Format.allCases {
                // A warm-up round, so that the connection pools and the code are warm.
                _ = try await self.round(format, chunks: chunks, chunkBytes: bytes, streams: self.concurrency)
                let before = processes.serviceMonitor.cpuTime
                let wire = try await self.round(format, chunks: chunks, chunkBytes: bytes, streams: self.streams)
                let cpu = processes.serviceMonitor.cpuTime - before
                let perStream = Double(cpu.components.seconds) * 1e6 + Double(cpu.components.attoseconds) / 1e12
                print(
                    pad("\(chunks) x \(bytes) B", 14) + pad(format.rawValue, 28) + pad("\(wire / self.streams)", 18)
                        + String(format: "%.0f µs", perStream / Double(self.streams))
                )
            }
        }
    }

    /// Runs `streams` streams, `concurrency` at a time; returns the bytes of all their bodies.
    private func round(_ format: Format, chunks: Int, chunkBytes: Int, streams: Int) async throws -> Int {
        let next = StreamCounter()
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<min(self.concurrency, streams) {
                group.addTask {
                    var total = 0
                    while next.take() < streams {
                        total += try await Self.stream(format, chunks: chunks, chunkBytes: chunkBytes)
                    }
                    return total
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// One stream's body size, after checking that it ended well.
    private static func stream(_ format: Format, chunks: Int, chunkBytes: Int) async throws -> Int {
        let attributes: JSONValue = .object(["chunks": .string("\(chunks)"), "chunkBytes": .string("\(chunkBytes)"), "delayMs": "0"])
        let base = "http://127.0.0.1:\(BenchmarkProcesses.servicePort)"
        var request: HTTPClientRequest
        let body: JSONValue
        switch format {
        case .ndjson, .sse:
            request = HTTPClientRequest(url: base + "/api/agent/stream")
            if format == .sse { request.headers.add(name: "Accept", value: "text/event-stream") }
            body = .object(["input_text": "load", "agent_id": "LOADTEST", "session_attributes": attributes])
        case .agentCoreText, .agentCoreStrands:
            request = HTTPClientRequest(url: base + "/api/agent/stream")
            body = .object([
                "agent_runtime_arn": "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/loadtest-Benchmark0",
                "payload": .object([
                    "chunks": .number(Double(chunks)), "chunkBytes": .number(Double(chunkBytes)),
                    "style": format == .agentCoreStrands ? "strands" : "text",
                ]),
            ])
        case .chat:
            request = HTTPClientRequest(url: base + "/api/chat")
            body = .object([
                "id": "benchmark-chat", "agent_id": "LOADTEST", "session_attributes": attributes,
                "messages": .array([.object(["id": "m1", "role": "user", "parts": .array([.object(["type": "text", "text": "load"])])])]),
            ])
        }
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var size = 0
        // The end of the body: the terminal event may be split across the last reads.
        var tail: [UInt8] = []
        for try await piece in response.body {
            size += piece.readableBytes
            tail.append(contentsOf: piece.readableBytesView)
            if tail.count > 16_384 { tail.removeFirst(tail.count - 16_384) }
        }
        let end = String(decoding: tail, as: UTF8.self)
        // The completion's last fields (its final content may be longer than the tail kept).
        let ended =
            format == .chat
            ? end.hasSuffix("data: [DONE]\n\n") && end.contains(#""finishReason":"stop""#)
            : end.contains(#""chunks":\#(chunks),"done":true"#)
        guard response.status == .ok, ended else {
            throw ValidationError("a \(format.rawValue) stream did not complete: HTTP \(response.status.code), ending \(end.suffix(200))")
        }
        return size
    }

}
