import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import Service

@Suite("Connection limits in the configuration")
struct ConnectionLimitConfigurationTests {
    private func configuration(_ variables: [String: String], openFiles: Int) throws(ConfigurationError) -> ServiceConfiguration {
        try ServiceConfiguration(
            environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a },
            homeDirectory: nil,
            openFileLimit: openFiles
        )
    }

    @Test("MAX_CONNECTIONS defaults to half of what the descriptor reserve leaves", arguments: [(256, 96), (1_024, 480), (65_535, 32_735)])
    func derived(openFiles: Int, expected: Int) throws {
        #expect(try self.configuration([:], openFiles: openFiles).maxConnections == expected)
    }

    @Test("an explicit MAX_CONNECTIONS is kept below the descriptor limit, with a message that says why")
    func bounded() throws {
        #expect(try self.configuration(["MAX_CONNECTIONS": "960"], openFiles: 1_024).maxConnections == 960)
        let error = #expect(throws: ConfigurationError.self) { try self.configuration(["MAX_CONNECTIONS": "1000"], openFiles: 1_024) }
        #expect(error?.source == "MAX_CONNECTIONS")
        #expect(error?.description.contains("ulimit -n") == true)
        #expect(error?.description.contains("at most 960") == true)
    }

    @Test("REQUEST_READ_TIMEOUT_SECONDS defaults to 20 s and is read like the other timeouts")
    func readTimeout() throws {
        #expect(try self.configuration([:], openFiles: 1_024).requestReadTimeout == .seconds(20))
        #expect(try self.configuration(["REQUEST_READ_TIMEOUT_SECONDS": "1.5"], openFiles: 1_024).requestReadTimeout == .milliseconds(1_500))
        #expect(throws: ConfigurationError.self) { try self.configuration(["REQUEST_READ_TIMEOUT_SECONDS": "0"], openFiles: 1_024) }
    }
}

@Suite("UpstreamHealth")
struct UpstreamHealthTests {
    @Test("a failure that says the upstream is in trouble degrades until a success or the window's end")
    func failing() {
        let health = UpstreamHealth(failureWindow: .seconds(60))
        #expect(health.report().failing == false)
        health.record(.failure(StreamFailure(.connectFailed, detail: "refused")))
        health.record(.failure(StreamFailure(.bedrock(.throttling), detail: "slow down")))
        let report = health.report()
        #expect(report.failing)
        #expect(report.consecutiveFailures == 2)
        #expect(report.lastErrorCode == "throttled")
        #expect(health.report(now: .now + .seconds(61)).failing == false, "an old failure no longer degrades")
        health.record(.success(()))
        #expect(health.report().failing == false)
        #expect(health.report().lastErrorCode == "throttled", "the last error is still reported")
    }

    @Test("failures that are the request's own say nothing of the upstream")
    func requestsOwnFailures() {
        let health = UpstreamHealth()
        for kind: StreamFailure.Kind in [
            .clientDisconnected, .bedrock(.validation), .bedrock(.resourceNotFound), .streamTimeout, .serverShuttingDown,
        ] {
            health.record(.failure(StreamFailure(kind, detail: "")))
        }
        #expect(health.report() == .init(lastErrorCode: nil, lastErrorDate: nil, consecutiveFailures: 0, failing: false))
    }
}

@Suite("Log line length")
struct LogLineLengthTests {
    @Test("a long value or message is cut and says how much was left out; short ones are kept")
    func capped() {
        let lines = Shared<[String]>([])
        let handler = OriginalFormatLogHandler(label: "app", format: .json, level: .info) { line in lines.withLock { $0.append(line) } }
        var logger = Logger(label: "app") { _ in handler }
        logger.logLevel = .info
        logger.info("Agent invocation failed", metadata: ["detail": .string(String(repeating: "x", count: 1_000_000)), "short": "kept"])
        let line = lines.value[0]
        #expect(line.utf8.count < OriginalFormatLogHandler.maxValueLength + 500)
        #expect(line.contains("… (983616 more characters)"))
        #expect(line.contains(#""short":"kept""#))
        #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a cut line is still JSON")
    }
}

@Suite("HTTPMessagePolicyHandler")
struct HTTPMessagePolicyHandlerTests {
    private func channel() throws -> EmbeddedChannel {
        let guardHandler = ConnectionGuardHandler(
            limits: .init(requestReadTimeout: .seconds(10), writeStallTimeout: .seconds(10)),
            metrics: ServiceMetrics()
        )
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([guardHandler, HTTPMessagePolicyHandler(guardHandler: guardHandler)])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
        #expect(channel.isActive)
        return channel
    }

    @Test("an HTTP/1.0 request gets an HTTP/1.0 answer without chunking, and the connection closes after it")
    func http10() throws {
        let channel = try self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(.init(version: .http1_0, method: .GET, uri: "/health")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        _ = try channel.readInbound(as: HTTPServerRequestPart.self)
        _ = try channel.readInbound(as: HTTPServerRequestPart.self)
        try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok, headers: ["transfer-encoding": "chunked"])))
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.version == .http1_0)
        #expect(head.headers["transfer-encoding"].isEmpty)
        #expect(head.headers["connection"] == ["close"])
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed after the response")
    }

    @Test("an HTTP/1.1 answer is left alone, and the connection stays open")
    func http11() throws {
        let channel = try self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(.init(version: .http1_1, method: .GET, uri: "/health")))
        try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok)))
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.version == .http1_1)
        #expect(head.headers["connection"].isEmpty)
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test("a response with Connection: close closes the connection and nothing is written after it")
    func closing() throws {
        let channel = try self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(.init(version: .http1_1, method: .POST, uri: "/api/agent/stream")))
        try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .payloadTooLarge, headers: ["connection": "close"])))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(throws: (any Error).self) {
            try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .badRequest)))
        }
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
