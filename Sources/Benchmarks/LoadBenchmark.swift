import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// `Benchmarks load`: the service and MockBedrock (release binaries) under load from this
/// process, beside the same load sent straight to MockBedrock, which is the loopback limit.
struct LoadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Streams per second, latency, CPU and memory of the service against MockBedrock."
    )

    @Option(help: "Folder of the release binaries.")
    var binaries = ".build/release"

    @Option(help: "Where to write the results as JSON.")
    var output = "bench-results.json"

    @Flag(help: "A few streams of each kind, checked: a smoke run, not a measurement.")
    var smoke = false

    @Option(help: "Streams in the memory-flatness run.")
    var flatnessStreams = 100_000

    @Option(
        help:
            "Run only the scenarios whose name contains this text (\"memory flatness\" and \"added first chunk, c1\" name the two runs outside the matrix)."
    )
    var only: String?

    @Option(help: "Streams held open in the holding test (default: 10000, or what the open-files limit allows).")
    var held: Int?

    struct Row: Codable {
        var scenario: LoadScenario
        var target: LoadTarget
        var completed: Int
        var errors: Int
        var firstError: String?
        var seconds: Double
        var streamsPerSecond: Double
        var chunkLinesPerSecond: Double
        var timeToFirstChunkP50Ms: Double?
        var timeToFirstChunkP99Ms: Double?
        var streamP50Ms: Double
        var streamP99Ms: Double
        var serviceCPUMsPerStream: Double?
        var mockCPUMsPerStream: Double
        var servicePeakRSSMB: Double?
        var serviceRSSPerOpenStreamKB: Double?
        var gapDeviationP99Ms: Double?
        /// The same, counting only the chunks that arrived while every stream was open: after the
        /// last one opened and before the first one ended, when no stream is being set up or torn
        /// down.
        var gapDeviationAllOpenP99Ms: Double?
        /// How late the generator's own 10 ms timer fires, at p99: what the generator adds to
        /// the gaps it measures.
        var generatorLagP99Ms: Double?
        var mockConnectionsOpened: Int?
    }

    func run() async throws {
        let openFiles = Self.raiseOpenFileLimit(holding: !self.smoke)
        let processes = try BenchmarkProcesses(binaries: self.binaries, maxConcurrentStreams: 20_000)
        defer { processes.stop() }
        try await Self.withClients { clients in
            try await Self.waitUntilListening(clients.first, "http://127.0.0.1:\(BenchmarkProcesses.servicePort)/health")
        }
        try processes.checkRunning()

        // First, while the service is in the state of a lightly loaded one: the larger runs leave
        // it with thousands of idle Bedrock connections (for a minute) and a heap grown to match.
        var addedFirstChunk: AddedFirstChunk?
        if self.only.map("added first chunk, c1".contains) ?? true {
            addedFirstChunk = try await Self.withClients { clients in await self.addedFirstChunk(clients: clients) }
            Swift.print(addedFirstChunk!.summary)
        }
        var rows: [Row] = []
        let matrix = self.matrix(openFiles: openFiles)
        // A name given whole runs that scenario alone ("..., c100" is also part of "..., c1000").
        let exact = matrix.contains { $0.name == self.only }
        for scenario in matrix where self.only.map({ exact ? scenario.name == $0 : scenario.name.contains($0) }) ?? true {
            for target in [LoadTarget.mock, .service] {
                // Clients per run: the connections of one run must not hold descriptors in the next.
                let row = try await Self.withClients { clients in
                    await self.measure(scenario, target: target, clients: clients, processes: processes)
                }
                self.print(row)
                rows.append(row)
            }
        }
        var flatness: MemoryFlatness?
        if self.only.map("memory flatness".contains) ?? true {
            flatness = try await Self.withClients { clients in
                await self.memoryFlatness(clients: clients, processes: processes)
            }
            Swift.print(flatness!.summary)
        }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Report: Codable {
            var rows: [LoadBenchmark.Row]
            var addedFirstChunk: AddedFirstChunk?
            var memoryFlatness: MemoryFlatness?
        }
        try encoder.encode(Report(rows: rows, addedFirstChunk: addedFirstChunk, memoryFlatness: flatness))
            .write(to: URL(fileURLWithPath: self.output))
        let errors = rows.map(\.errors).reduce(0, +) + (addedFirstChunk?.errors ?? 0) + (flatness?.errors ?? 0)
        Swift.print("results written to \(self.output); \(errors) stream errors")
        if errors > 0 { throw ExitCode.failure }
    }

    /// The matrix: 100 x 20 B at no delay and at 20 ms at concurrency 1, 100 and 1000,
    /// 1000 chunks, one 64 KiB chunk, and 10000 streams held open at a 1-second cadence, fewer when
    /// the open-files limit cannot be raised (the service holds two descriptors a stream). The held
    /// streams open over 25 seconds, as clients arriving at a steady rate would (holding N streams
    /// of 30 seconds takes N/30 new ones a second), and are all open together for their last four.
    func matrix(openFiles: Int) -> [LoadScenario] {
        let held = self.held ?? min(10_000, (openFiles - 1_000) / 2 / 1_000 * 1_000)
        if self.smoke {
            return [
                LoadScenario(name: "100 x 20 B", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 4, streams: 20),
                LoadScenario(name: "10 x 20 B, 20 ms", chunks: 10, chunkBytes: 20, delayMs: 20, concurrency: 4, streams: 8),
            ]
        }
        return [
            LoadScenario(name: "100 x 20 B, c1", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 1, streams: 300),
            LoadScenario(name: "100 x 20 B, c100", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 100, streams: 5_000),
            LoadScenario(name: "100 x 20 B, c1000", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 1_000, streams: 10_000),
            LoadScenario(name: "100 x 20 B @20 ms, c1", chunks: 100, chunkBytes: 20, delayMs: 20, concurrency: 1, streams: 3),
            LoadScenario(name: "100 x 20 B @20 ms, c100", chunks: 100, chunkBytes: 20, delayMs: 20, concurrency: 100, streams: 300),
            LoadScenario(name: "100 x 20 B @20 ms, c1000", chunks: 100, chunkBytes: 20, delayMs: 20, concurrency: 1_000, streams: 2_000),
            LoadScenario(name: "1000 x 20 B, c10", chunks: 1_000, chunkBytes: 20, delayMs: 0, concurrency: 10, streams: 50),
            LoadScenario(name: "1 x 64 KiB, c10", chunks: 1, chunkBytes: 65_536, delayMs: 0, concurrency: 10, streams: 500),
            LoadScenario(
                name: "hold \(held) x 30 @1 s",
                chunks: 30,
                chunkBytes: 20,
                delayMs: 1_000,
                concurrency: held,
                streams: held,
                openedPerSecond: max(1, held / 25)
            ),
        ]
    }

    func measure(_ scenario: LoadScenario, target: LoadTarget, clients: LoadClients, processes: BenchmarkProcesses) async -> Row {
        let holding = scenario.delayMs >= 1_000
        let serviceCPU = processes.serviceMonitor.cpuTime
        let mockCPU = processes.mockMonitor.cpuTime
        let idleRSS = processes.serviceMonitor.memory.resident
        let connectionsBefore = await Self.mockConnections(clients.first)
        let generator = LoadGenerator(clients: clients, target: target, recordsGaps: holding)
        let sampler = Task {
            // The service's memory while the streams are open, sampled through the run.
            var largest = 0
            while !Task.isCancelled {
                largest = max(largest, processes.serviceMonitor.memory.resident)
                try? await Task.sleep(for: .milliseconds(200))
            }
            return largest
        }
        let lagProbe = Task { () -> [Double] in
            var lags: [Double] = []
            while holding, !Task.isCancelled {
                let asleep = ContinuousClock.now
                try? await Task.sleep(for: .milliseconds(10))
                lags.append((ContinuousClock.now - asleep - .milliseconds(10)) / .milliseconds(1))
            }
            return lags
        }
        let start = ContinuousClock.now
        let measurements = await generator.run(scenario)
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        sampler.cancel()
        let openRSS = await sampler.value
        lagProbe.cancel()
        let lags = await lagProbe.value
        let ok = measurements.filter(\.ok)
        let serviceCPUMs = Double((processes.serviceMonitor.cpuTime - serviceCPU) / .microseconds(1)) / 1000
        let mockCPUMs = Double((processes.mockMonitor.cpuTime - mockCPU) / .microseconds(1)) / 1000
        let connectionsAfter = await Self.mockConnections(clients.first)
        let gaps = ok.flatMap(\.gaps)
        let allOpen = Self.allOpen(scenario, start: start)
        func deviation(_ gap: ChunkGap) -> Double { abs(gap.length / .milliseconds(1) - Double(scenario.delayMs)) }
        let deviations = gaps.map(deviation)
        let allOpenDeviations = gaps.filter { allOpen.contains($0.arrival) }.map(deviation)
        return Row(
            scenario: scenario,
            target: target,
            completed: ok.count,
            errors: measurements.count - ok.count,
            firstError: measurements.first { !$0.ok }?.problem,
            seconds: seconds,
            streamsPerSecond: Double(ok.count) / seconds,
            chunkLinesPerSecond: Double(ok.map(\.chunkLines).reduce(0, +)) / seconds,
            timeToFirstChunkP50Ms: Self.percentile(ok.compactMap(\.timeToFirstChunk), 0.5),
            timeToFirstChunkP99Ms: Self.percentile(ok.compactMap(\.timeToFirstChunk), 0.99),
            streamP50Ms: Self.percentile(ok.map(\.duration), 0.5) ?? 0,
            streamP99Ms: Self.percentile(ok.map(\.duration), 0.99) ?? 0,
            serviceCPUMsPerStream: target == .service ? serviceCPUMs / Double(max(measurements.count, 1)) : nil,
            mockCPUMsPerStream: mockCPUMs / Double(max(measurements.count, 1)),
            servicePeakRSSMB: target == .service ? Double(processes.serviceMonitor.memory.peak) / 1e6 : nil,
            serviceRSSPerOpenStreamKB: target == .service && holding
                ? Double(openRSS - idleRSS) / Double(scenario.concurrency) / 1024 : nil,
            gapDeviationP99Ms: holding ? Self.percentile(deviations, 0.99) : nil,
            gapDeviationAllOpenP99Ms: holding ? Self.percentile(allOpenDeviations, 0.99) : nil,
            generatorLagP99Ms: Self.percentile(lags, 0.99),
            mockConnectionsOpened: connectionsAfter.map { $0 - (connectionsBefore ?? 0) }
        )
    }

    /// When every stream of a holding run is open and past its first chunk, and none has ended:
    /// from a second after the last one opened to when the first one's last chunk is due.
    static func allOpen(_ scenario: LoadScenario, start: ContinuousClock.Instant) -> Range<ContinuousClock.Instant> {
        let opening = Duration.seconds(Double(scenario.concurrency) / Double(scenario.openedPerSecond ?? .max))
        let from = start + opening + .seconds(1)
        let until = start + .milliseconds(scenario.delayMs * (scenario.chunks - 1))
        return from..<max(from, until)
    }

    /// What the service adds to the time to first chunk at concurrency 1, measured in pairs.
    struct AddedFirstChunk: Codable {
        var pairs: Int
        var directP50Ms: Double
        var serviceP50Ms: Double
        /// The median of each pair's service time less its direct time.
        var addedP50Ms: Double
        /// Pairs in which a stream failed its checks (they are left out of the figures).
        var errors: Int
        var firstError: String?

        var summary: String {
            let milliseconds = { String(format: "%.2f ms", $0) }
            var text =
                "added time to first chunk, c1, \(self.pairs) alternating pairs of 100 x 20 B: direct p50 \(milliseconds(self.directP50Ms)), "
                + "service p50 \(milliseconds(self.serviceP50Ms)), added p50 \(milliseconds(self.addedP50Ms))"
            if let firstError = self.firstError {
                text += "; \(self.errors) pairs failed (\(firstError))"
            }
            return text
        }
    }

    /// One stream straight to MockBedrock, then one through the service, in turn: both halves of
    /// each pair meet the same state of the shared machine, which drifts by more than the
    /// difference between them from one run of the c1 rows to the next.
    func addedFirstChunk(clients: LoadClients) async -> AddedFirstChunk {
        let scenario = LoadScenario(name: "added first chunk", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 1, streams: 1)
        let direct = LoadGenerator(clients: clients, target: .mock, recordsGaps: false)
        let service = LoadGenerator(clients: clients, target: .service, recordsGaps: false)
        let client = clients.client(forWorker: 0)
        let pairs = self.smoke ? 10 : 2_000
        var directTimes: [Duration] = []
        var serviceTimes: [Duration] = []
        var added: [Duration] = []
        var errors = 0
        var firstError: String?
        // The first pairs open the connections and warm both processes up.
        for pair in -100..<pairs {
            let straight = await direct.stream(scenario, client: client)
            let through = await service.stream(scenario, client: client)
            guard straight.ok, through.ok, let straightTime = straight.timeToFirstChunk, let throughTime = through.timeToFirstChunk else {
                errors += 1
                firstError = firstError ?? straight.problem ?? through.problem ?? "a stream without a chunk"
                continue
            }
            guard pair >= 0 else { continue }
            directTimes.append(straightTime)
            serviceTimes.append(throughTime)
            added.append(throughTime - straightTime)
        }
        return AddedFirstChunk(
            pairs: pairs,
            directP50Ms: Self.percentile(directTimes, 0.5) ?? 0,
            serviceP50Ms: Self.percentile(serviceTimes, 0.5) ?? 0,
            addedP50Ms: Self.percentile(added, 0.5) ?? 0,
            errors: errors,
            firstError: firstError
        )
    }

    /// RSS after warming up, after one 10000-chunk stream, and after many streams in a row.
    struct MemoryFlatness: Codable {
        var settledMB: Double
        var afterLongStreamMB: Double
        var afterManyStreamsMB: Double
        var manyStreams: Int
        var errors: Int

        var summary: String {
            let long = (self.afterLongStreamMB / self.settledMB - 1) * 100
            let many = (self.afterManyStreamsMB / self.settledMB - 1) * 100
            return "memory: settled \(format(self.settledMB)) MB, after a 10000-chunk stream \(format(self.afterLongStreamMB)) MB "
                + "(\(format(long))%), after \(self.manyStreams) streams \(format(self.afterManyStreamsMB)) MB (\(format(many))%)"
        }
    }

    func memoryFlatness(clients: LoadClients, processes: BenchmarkProcesses) async -> MemoryFlatness {
        let generator = LoadGenerator(clients: clients, target: .service, recordsGaps: false)
        let warmUp = LoadScenario(name: "warm-up", chunks: 100, chunkBytes: 20, delayMs: 0, concurrency: 100, streams: self.smoke ? 50 : 10_000)
        var errors = await generator.run(warmUp).filter { !$0.ok }.count
        let settled = processes.serviceMonitor.memory.resident
        let long = LoadScenario(name: "10000 chunks", chunks: self.smoke ? 500 : 10_000, chunkBytes: 20, delayMs: 0, concurrency: 1, streams: 1)
        errors += await generator.run(long).filter { !$0.ok }.count
        let afterLong = processes.serviceMonitor.memory.resident
        let many = LoadScenario(
            name: "many",
            chunks: 100,
            chunkBytes: 20,
            delayMs: 0,
            concurrency: 100,
            streams: self.smoke ? 100 : self.flatnessStreams
        )
        errors += await generator.run(many).filter { !$0.ok }.count
        let afterMany = processes.serviceMonitor.memory.resident
        return MemoryFlatness(
            settledMB: Double(settled) / 1e6,
            afterLongStreamMB: Double(afterLong) / 1e6,
            afterManyStreamsMB: Double(afterMany) / 1e6,
            manyStreams: many.streams,
            errors: errors
        )
    }

    func print(_ row: Row) {
        var text = pad(row.scenario.name, 26) + pad(row.target.rawValue, 8)
        text += pad("\(format(row.streamsPerSecond))/s", 12) + pad("\(format(row.chunkLinesPerSecond)) l/s", 14)
        text += pad("ttfc \(row.timeToFirstChunkP50Ms.map(format) ?? "-")/\(row.timeToFirstChunkP99Ms.map(format) ?? "-") ms", 22)
        text += pad("stream \(format(row.streamP50Ms))/\(format(row.streamP99Ms)) ms", 26)
        text += pad("svc cpu \(row.serviceCPUMsPerStream.map(format) ?? "-") ms", 18) + pad("mock cpu \(format(row.mockCPUMsPerStream)) ms", 18)
        if let rss = row.servicePeakRSSMB { text += pad("peak \(format(rss)) MB", 14) }
        if let perStream = row.serviceRSSPerOpenStreamKB { text += pad("\(format(perStream)) KB/stream", 16) }
        if let gap = row.gapDeviationP99Ms { text += pad("gap p99 ±\(format(gap)) ms", 18) }
        if let gap = row.gapDeviationAllOpenP99Ms { text += pad("(all open ±\(format(gap)) ms)", 22) }
        if let lag = row.generatorLagP99Ms { text += pad("generator lag p99 \(format(lag)) ms", 26) }
        if let connections = row.mockConnectionsOpened { text += "conns \(connections) " }
        text += "errors \(row.errors)"
        if let error = row.firstError { text += " (\(error))" }
        Swift.print(text)
    }

    static func percentile(_ durations: [Duration], _ fraction: Double) -> Double? {
        self.percentile(durations.map { $0 / .milliseconds(1) }, fraction)
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]
    }

    static func mockConnections(_ client: HTTPClient) async -> Int? {
        guard
            let response = try? await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(BenchmarkProcesses.mockPort)/_mock/stats"),
                timeout: .seconds(10)
            ),
            let body = try? await response.body.collect(upTo: 1 << 16),
            let stats = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        else { return nil }
        return stats["connections"] as? Int
    }

    /// Clients for the largest run, shut down (their connections closed) afterwards.
    static func withClients<T>(_ body: (LoadClients) async throws -> T) async throws -> T {
        let clients = LoadClients()
        do {
            let result = try await body(clients)
            try await clients.shutdown()
            return result
        } catch {
            try? await clients.shutdown()
            throw error
        }
    }

    static func waitUntilListening(_ client: HTTPClient, _ url: String) async throws {
        for _ in 0..<200 {
            if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("\(url) did not answer within 10 seconds")
    }

    /// 10000 streams need some 30000 descriptors across the three processes; the children inherit
    /// this process's limit. `holding`: whether the run holds streams, the only part that needs
    /// many (a smoke run holds none, so it does not warn).
    @discardableResult
    static func raiseOpenFileLimit(holding: Bool) -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let wanted: rlim_t = 262_144
        if limit.rlim_cur < wanted {
            // As root the hard limit can be raised too; otherwise the soft limit goes up to it.
            var raised = rlimit(rlim_cur: wanted, rlim_max: max(wanted, limit.rlim_max))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
                raised = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
                let refused = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 || raised.rlim_cur < 40_000
                if refused && holding {
                    Swift.print("the machine refuses an open-files limit of \(wanted) (hard limit \(limit.rlim_max)): the holding test may fail")
                }
            }
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        Swift.print("open-files limit: \(limit.rlim_cur)")
        return Int(limit.rlim_cur)
    }
}
