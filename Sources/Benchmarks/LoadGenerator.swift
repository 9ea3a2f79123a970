import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import Synchronization

/// One load shape: `streams` answers of `chunks` chunks of `chunkBytes` bytes, `delayMs` apart,
/// `concurrency` at a time, from MockBedrock's `LOADTEST` agent.
struct LoadScenario: Sendable, Codable {
    var name: String
    var chunks: Int
    var chunkBytes: Int
    var delayMs: Int
    var concurrency: Int
    var streams: Int
    /// How many of the concurrent streams open each second at the start; `nil` opens them all at
    /// once. Clients arrive over time, and ten thousand opened in the same instant would measure
    /// the stampede rather than the steady cadence.
    var openedPerSecond: Int? = nil
}

/// Where the load goes: the service, or straight to MockBedrock (the loopback limit).
enum LoadTarget: String, Sendable, Codable {
    case service
    case mock
}

/// The generator's HTTP clients. AsyncHTTPClient's pool looks at each of its connections on every
/// request, so ten thousand streams through one pool would make the generator the bottleneck; each
/// worker uses one of several pools instead.
struct LoadClients: Sendable {
    static let workersPerClient = 250
    private let clients: [HTTPClient]

    init(count: Int = 48) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 12_000)
        configuration.timeout = .init(connect: .seconds(60))
        self.clients = (0..<count).map { _ in HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration) }
    }

    /// For requests outside a run (health, statistics).
    var first: HTTPClient { self.clients[0] }

    /// Workers fill one client after another, so a run at low concurrency reuses one pool.
    func client(forWorker worker: Int) -> HTTPClient {
        self.clients[min(worker / Self.workersPerClient, self.clients.count - 1)]
    }

    func shutdown() async throws {
        for client in self.clients {
            try await client.shutdown()
        }
    }
}

/// What one stream looked like at the client.
struct StreamMeasurement: Sendable {
    var ok: Bool
    var problem: String?
    var timeToFirstChunk: Duration?
    var duration: Duration
    var chunkLines: Int
    /// Gaps between consecutive chunk lines, when asked for.
    var gaps: [ChunkGap]
}

/// The time between two consecutive chunk lines of a stream, and when the second one arrived.
struct ChunkGap: Sendable {
    var arrival: ContinuousClock.Instant
    var length: Duration
}

/// Sends the load and checks every stream: for the service, every NDJSON line (one `start` first,
/// each chunk's text as `LOADTEST` sends it, one terminal line last); for MockBedrock, every
/// decoded frame.
struct LoadGenerator: Sendable {
    let clients: LoadClients
    let target: LoadTarget
    let recordsGaps: Bool

    /// Runs `scenario` and returns one measurement per stream.
    func run(_ scenario: LoadScenario) async -> [StreamMeasurement] {
        let next = StreamCounter()
        let start = ContinuousClock.now
        return await withTaskGroup(of: [StreamMeasurement].self) { group in
            for worker in 0..<min(scenario.concurrency, scenario.streams) {
                let client = self.clients.client(forWorker: worker)
                group.addTask {
                    if let rate = scenario.openedPerSecond {
                        try? await Task.sleep(until: start + .seconds(Double(worker) / Double(rate)))
                    }
                    var measurements: [StreamMeasurement] = []
                    while next.take() < scenario.streams {
                        measurements.append(await self.stream(scenario, client: client))
                    }
                    return measurements
                }
            }
            var all: [StreamMeasurement] = []
            for await measurements in group {
                all += measurements
            }
            return all
        }
    }

    /// One stream of `scenario`, checked.
    func stream(_ scenario: LoadScenario, client: HTTPClient) async -> StreamMeasurement {
        let start = ContinuousClock.now
        var checker = StreamChecker(scenario: scenario, start: start, recordsGaps: self.recordsGaps)
        do {
            let request = try self.request(scenario)
            let response = try await client.execute(request, timeout: .seconds(3600))
            guard response.status == .ok else {
                return checker.failed("HTTP \(response.status.code)")
            }
            switch self.target {
            case .service:
                var pending = ByteBuffer()
                for try await piece in response.body {
                    pending.writeImmutableBuffer(piece)
                    while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending.readSlice(length: newline - pending.readerIndex + 1)!
                        checker.line(line)
                    }
                    pending.discardReadBytes()
                }
            case .mock:
                let frames = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
                for try await piece in response.body {
                    try frames.process(buffer: piece) { checker.frame($0) }
                }
                try frames.finishProcessing(seenEOF: true) { checker.frame($0) }
                checker.endOfFrames()
            }
        } catch {
            return checker.failed("\(error)")
        }
        return checker.result()
    }

    private func request(_ scenario: LoadScenario) throws -> HTTPClientRequest {
        let attributes = ["chunks": "\(scenario.chunks)", "chunkBytes": "\(scenario.chunkBytes)", "delayMs": "\(scenario.delayMs)"]
        switch self.target {
        case .service:
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(BenchmarkProcesses.servicePort)/api/agent/stream")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let body: [String: JSONValue] = [
                "input_text": .string("load"), "agent_id": .string("LOADTEST"),
                "session_attributes": .object(attributes.mapValues { .string($0) }),
            ]
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
            return request
        case .mock:
            let target = InvokeAgentTarget(agentId: "LOADTEST", agentAliasId: "TSTALIASID", sessionId: "benchmark-session")
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(BenchmarkProcesses.mockPort)" + target.path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let input = InvokeAgentRequest(
                inputText: "load",
                sessionState: .init(sessionAttributes: attributes),
                streamingConfigurations: .init(streamFinalResponse: true)
            )
            try SigV4Signer(service: "bedrock", region: "us-east-1").sign(
                &request,
                body: ByteBuffer(bytes: try JSONEncoder().encode(input)),
                credentials: AWSCredentials(accessKeyID: BenchmarkProcesses.accessKeyID, secretAccessKey: BenchmarkProcesses.secretAccessKey)
            )
            return request
        }
    }
}

/// Checks one stream as it arrives. `LOADTEST`'s chunk `i` is `chunkBytes` copies of the letter
/// `"a" + i % 26`, so every byte can be checked without keeping the answer.
struct StreamChecker {
    let scenario: LoadScenario
    let start: ContinuousClock.Instant
    let recordsGaps: Bool
    private var lines = 0
    private var chunks = 0
    private var terminal = false
    private var problem: String?
    private var firstChunk: ContinuousClock.Instant?
    private var lastChunk: ContinuousClock.Instant?
    private var gaps: [ChunkGap] = []

    init(scenario: LoadScenario, start: ContinuousClock.Instant, recordsGaps: Bool) {
        self.scenario = scenario
        self.start = start
        self.recordsGaps = recordsGaps
    }

    /// One NDJSON line of the service.
    mutating func line(_ line: ByteBuffer) {
        defer { self.lines += 1 }
        let view = line.readableBytesView
        if self.lines == 0 {
            if !view.starts(with: #"{"type":"start","#.utf8) { self.fail("the first line is not start") }
            return
        }
        if view.starts(with: #"{"type":"chunk","content":""#.utf8) {
            let content = view.dropFirst(#"{"type":"chunk","content":""#.utf8.count).prefix(self.scenario.chunkBytes + 1)
            let letter = UInt8(ascii: "a") + UInt8(self.chunks % 26)
            if content.count != self.scenario.chunkBytes + 1 || !content.dropLast().allSatisfy({ $0 == letter })
                || content.last != UInt8(ascii: "\"")
            {
                self.fail("chunk \(self.chunks) has the wrong text")
            }
            self.chunkArrived()
        } else if view.starts(with: #"{"type":"completion","#.utf8) {
            if self.terminal { self.fail("a second terminal line") }
            self.terminal = true
            if !String(buffer: line).contains(#""chunks":\#(self.scenario.chunks),"#) { self.fail("completion counts the wrong chunks") }
        } else {
            self.fail("unexpected line: \(String(buffer: line).prefix(200))")
        }
    }

    /// One event-stream frame of MockBedrock.
    mutating func frame(_ message: EventStreamMessage) {
        guard message.eventType == "chunk" else {
            self.fail("unexpected frame \(message.eventType ?? message.exceptionType ?? "?")")
            return
        }
        let letter = UInt8(ascii: "a") + UInt8(self.chunks % 26)
        let expected = #"{"bytes":""# + Data(repeating: letter, count: self.scenario.chunkBytes).base64EncodedString() + #""}"#
        if !message.payload.readableBytesView.elementsEqual(expected.utf8) {
            self.fail("chunk \(self.chunks) has the wrong bytes")
        }
        self.chunkArrived()
    }

    mutating func endOfFrames() {
        self.terminal = true
    }

    private mutating func chunkArrived() {
        let now = ContinuousClock.now
        if self.firstChunk == nil { self.firstChunk = now }
        if self.recordsGaps, let last = self.lastChunk { self.gaps.append(ChunkGap(arrival: now, length: now - last)) }
        self.lastChunk = now
        self.chunks += 1
    }

    private mutating func fail(_ problem: String) {
        if self.problem == nil { self.problem = problem }
    }

    func failed(_ problem: String) -> StreamMeasurement {
        StreamMeasurement(
            ok: false,
            problem: problem,
            timeToFirstChunk: nil,
            duration: ContinuousClock.now - self.start,
            chunkLines: self.chunks,
            gaps: []
        )
    }

    func result() -> StreamMeasurement {
        var problem = self.problem
        if problem == nil && !self.terminal { problem = "no terminal line" }
        if problem == nil && self.chunks != self.scenario.chunks { problem = "\(self.chunks) of \(self.scenario.chunks) chunks" }
        return StreamMeasurement(
            ok: problem == nil,
            problem: problem,
            timeToFirstChunk: self.firstChunk.map { $0 - self.start },
            duration: ContinuousClock.now - self.start,
            chunkLines: self.chunks,
            gaps: self.gaps
        )
    }
}

/// Hands out stream numbers to the workers.
final class StreamCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int {
        self.next.add(1, ordering: .relaxed).oldValue
    }
}
