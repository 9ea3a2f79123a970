import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("Stream controller")
struct StreamControllerTests {
    func controller() -> StreamController {
        StreamController(
            timeouts: .init(firstEvent: .seconds(60), idle: .seconds(60), total: .seconds(60)),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        )
    }

    @Test("a retry pause runs its course, or ends at once when the stream is stopped")
    func pause() async throws {
        let calm = self.controller()
        let start = ContinuousClock.now
        #expect(await calm.stopped(waitingAtMost: .milliseconds(50)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(50))

        let stopped = self.controller()
        let stopper = Task {
            try await Task.sleep(for: .milliseconds(50))
            stopped.stop(.clientDisconnected)
        }
        let pausing = ContinuousClock.now
        #expect(await stopped.stopped(waitingAtMost: .seconds(30)) == .clientDisconnected)
        #expect(ContinuousClock.now - pausing < .seconds(20), "the stop ended the pause")
        try await stopper.value
        #expect(stopped.finish() == .clientDisconnected, "finishing reports the earlier stop")
    }

    @Test("the stop action runs once: on the stop, at once when already stopped, never after the end")
    func stopAction() {
        let runs = Shared(0)
        let stopped = self.controller()
        stopped.whenStopped { runs.withLock { $0 += 1 } }
        stopped.stop(.idleTimeout)
        stopped.stop(.streamTimeout)
        #expect(runs.value == 1)
        stopped.whenStopped { runs.withLock { $0 += 10 } }
        #expect(runs.value == 11, "a stream stopped already stops its next call at once")

        let finished = self.controller()
        finished.whenStopped { runs.withLock { $0 += 100 } }
        #expect(finished.finish() == nil)
        finished.stop(.clientDisconnected)
        #expect(runs.value == 11, "after the end nothing is stopped")
    }

    @Test("time spent waiting on a slow client is not upstream silence; the idle limit counts from the write's end")
    func idleWhileWriting() async {
        let controller = StreamController(
            timeouts: .init(firstEvent: .seconds(60), idle: .seconds(1), total: .seconds(60)),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        )
        let stops = Shared(0)
        controller.whenStopped { stops.withLock { $0 += 1 } }
        controller.arm()
        controller.eventArrived()
        controller.writeBegan()
        try? await Task.sleep(for: .milliseconds(2500))
        #expect(stops.value == 0, "stopped while its client was still taking the answer")
        controller.writeEnded()
        let ended = ContinuousClock.now
        #expect(await controller.stopped() == .idleTimeout, "once reading upstream again, its silence counts")
        #expect(ContinuousClock.now - ended >= .milliseconds(990))
    }
}

@Suite("A stopped stream's write")
struct StoppedWriteTests {
    private func controller(closed: Shared<Int>, on loop: EmbeddedEventLoop) -> StreamController {
        StreamController(timeouts: .init(firstEvent: .seconds(100), idle: .seconds(100), total: .seconds(100)), eventLoop: loop) {
            closed.withLock { $0 += 1 }
        }
    }

    @Test("a write still waiting a second after the stop closes the connection")
    func stuckWrite() {
        let loop = EmbeddedEventLoop()
        let closed = Shared(0)
        let controller = self.controller(closed: closed, on: loop)
        controller.writeBegan()
        controller.stop(.streamTimeout)
        loop.advanceTime(by: .milliseconds(999))
        #expect(closed.value == 0)
        loop.advanceTime(by: .milliseconds(1))
        #expect(closed.value == 1)
    }

    @Test("a write that began after the stop (the error line) is bounded the same way")
    func lastLine() {
        let loop = EmbeddedEventLoop()
        let closed = Shared(0)
        let controller = self.controller(closed: closed, on: loop)
        controller.stop(.idleTimeout)
        controller.finish()
        controller.writeBegan()
        loop.advanceTime(by: .seconds(2))
        #expect(closed.value == 1)
    }

    @Test("writes taken in time, and writes of a stream never stopped, close nothing")
    func takenInTime() {
        let loop = EmbeddedEventLoop()
        let closed = Shared(0)
        let stopped = self.controller(closed: closed, on: loop)
        stopped.writeBegan()
        stopped.stop(.streamTimeout)
        loop.advanceTime(by: .milliseconds(500))
        stopped.writeEnded()
        loop.advanceTime(by: .seconds(5))
        let running = self.controller(closed: closed, on: loop)
        running.writeBegan()
        loop.advanceTime(by: .seconds(50))
        #expect(closed.value == 0)
    }
}
