import AsyncHTTPClient
import EventStream
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TestSupport
import Testing

@testable import MockBedrock

/// How scripted delays are kept: on the stream's own clock, and never past a shutdown.
@Suite("MockBedrock pacing", .timeLimit(.minutes(2)))
struct StreamPacerTests {
    /// A real TCP connection on a real event loop, whose peer stays connected: long pauses look
    /// at it.
    func withChannel<T>(_ body: (any Channel) async throws -> T) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: try #require(server.localAddress)).get()
        defer {
            channel.close(promise: nil)
            server.close(promise: nil)
        }
        return try await body(channel)
    }

    @Test("a pause counts from when the previous one was due, so slow work between pauses does not add up")
    func keepsCadence() async throws {
        try await withChannel { channel in
            let pacer = StreamPacer(channel: channel)
            let origin = pacer.due
            let start = ContinuousClock.now
            try await pacer.pause(milliseconds: 600)
            // A write that takes 500 ms: pauses counted from the end of the work would be due at
            // 1,700 ms; counted from when the previous one was due, at 1,200 ms. The due times are
            // checked, not the clock, so a loaded machine cannot make the test pass or fail.
            try await Task.sleep(for: .milliseconds(500))
            try await pacer.pause(milliseconds: 600)
            #expect(pacer.due == origin + .milliseconds(1_200))
            // And a pause never ends early.
            #expect(ContinuousClock.now - start >= .milliseconds(1_200))
        }
    }

    @Test("pauses end on the next whole millisecond, never early, and a late one at once")
    func wholeMilliseconds() {
        let now = NIODeadline.uptimeNanoseconds(1_000_000)
        #expect(StreamPacer.wakeUp(for: .uptimeNanoseconds(5_000_001), now: now) == .uptimeNanoseconds(6_000_000))
        #expect(StreamPacer.wakeUp(for: .uptimeNanoseconds(5_999_999), now: now) == .uptimeNanoseconds(6_000_000))
        #expect(StreamPacer.wakeUp(for: .uptimeNanoseconds(6_000_000), now: now) == .uptimeNanoseconds(6_000_000))
        #expect(StreamPacer.wakeUp(for: .uptimeNanoseconds(700_001), now: now) == .uptimeNanoseconds(700_001))
    }

    @Test("a stop ends the pause in progress at once and refuses every later one")
    func stop() async throws {
        try await withChannel { channel in
            let pacer = StreamPacer(channel: channel)
            let start = ContinuousClock.now
            // Long enough that a test task starved of threads by the tests beside it still stops the
            // pause while it runs.
            let paused = Task { try await pacer.pause(milliseconds: 60_000) }
            try await Task.sleep(for: .milliseconds(100))
            pacer.stop()
            await #expect(throws: CancellationError.self) { try await paused.value }
            #expect(ContinuousClock.now - start < .seconds(30), "the pause ran its course")
            await #expect(throws: CancellationError.self) { try await pacer.pause(milliseconds: 10) }
        }
    }

    @Test("a server shutting down ends a stalled stream instead of waiting out its hour")
    func shutdownEndsStall() async throws {
        let configuration = MockBedrockConfiguration(port: 0, fixtures: fixturesFolder, credentials: testCredentials)
        let server = MockBedrockServer(configuration: configuration, fixtures: try sharedFixtures.get(), logger: quietLogger)
        let (ports, port) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server.application { port.yield($0) })], logger: quietLogger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let mock = MockClient(port: try #require(await iterator.next()), state: server.state)
            let received = Shared(0)
            tasks.addTask {
                let response = try await HTTPClient.shared.execute(try mock.request(agent: "FSTALL"), timeout: .seconds(30))
                let frames = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
                do {
                    for try await piece in response.body {
                        try frames.process(buffer: piece) { _ in received.withLock { $0 += 1 } }
                    }
                } catch {
                    // The server ends the stream by closing the connection.
                }
            }
            #expect(try await eventually { received.withLock { $0 } == 1 })
            let shutdown = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(ContinuousClock.now - shutdown < .seconds(5), "the shutdown waited for the stall")
            #expect(server.state.statistics.streamsInterrupted == 1)
        }
    }
}
