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

@testable import Service

/// The pieces of one request's path, each on its own.
@Suite("UTF-8 across chunks")
struct UTF8StreamDecoderTests {
    func decode(_ chunks: [[UInt8]]) -> [UInt8] {
        var decoder = UTF8StreamDecoder()
        var output: [UInt8] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { decoder.decode($0, into: &output) }
        }
        decoder.finish(into: &output)
        return output
    }

    @Test("any split of valid text decodes to the same text", arguments: ["Café", "日本語のテキスト", "emoji 😀🎉 and ascii", "x"])
    func splits(text: String) {
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            #expect(self.decode([Array(bytes[..<cut]), Array(bytes[cut...])]) == bytes, "cut at \(cut)")
        }
        #expect(self.decode(bytes.map { [$0] }) == bytes, "byte by byte")
    }

    @Test(
        "invalid bytes become U+FFFD as String(decoding:) would",
        arguments: [
            [0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0x61, 0x80, 0x62], [0xF4, 0x90, 0x80, 0x80],
        ] as [[UInt8]]
    )
    func invalid(bytes: [UInt8]) {
        let expected = Array(String(decoding: bytes, as: UTF8.self).utf8)
        #expect(self.decode([bytes]) == expected)
        #expect(self.decode(bytes.map { [$0] }) == expected, "byte by byte")
    }

    @Test("an incomplete character is held, not emitted, until the next chunk")
    func holds() {
        var decoder = UTF8StreamDecoder()
        var output: [UInt8] = []
        [UInt8]([0x61, 0xF0, 0x9F]).withUnsafeBytes { decoder.decode($0, into: &output) }
        #expect(output == [0x61])
        [UInt8]([0x98, 0x80]).withUnsafeBytes { decoder.decode($0, into: &output) }
        #expect(output == [0x61] + Array("😀".utf8))
    }
}

@Suite("JSON text")
struct JSONTextTests {
    @Test(
        "escaping round-trips through a JSON parser",
        arguments: ["plain", "quote \" and \\ backslash", "lines\nand\ttabs\r", "\u{0}\u{1}\u{1F}", "ünïcödé 😀", "</script>"]
    )
    func roundTrip(text: String) throws {
        var buffer = ByteBuffer()
        JSONText.writeString(text, to: &buffer)
        let decoded = try JSONDecoder().decode(String.self, from: Data(buffer.readableBytesView))
        #expect(decoded == text)
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("every kind of JSON value decodes as itself, nested too, and encodes back")
    func kinds() throws {
        let text = #"{"s":"x","o":{"a":1},"n":1.5,"i":-2,"t":true,"f":false,"z":null,"a":[1,"1",true,null,{},[]]}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let expected: JSONValue = .object([
            "s": .string("x"), "o": .object(["a": .number(1)]), "n": .number(1.5), "i": .number(-2),
            "t": .bool(true), "f": .bool(false), "z": .null,
            "a": .array([.number(1), .string("1"), .bool(true), .null, .object([:]), .array([])]),
        ])
        #expect(value == expected)
        #expect(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value)) == expected)
    }
}

@Suite("Bedrock identifiers")
struct BedrockIdentifierTests {
    @Test(
        "ids are checked by length in characters and by character, whether ASCII or not",
        arguments: [
            ("AGENT12345", "agentId", nil), ("AGENT123456", "agentId", "1 to 10 characters long, got 11"),
            ("a-b", "agentId", "may contain only ASCII letters and digits, got '-'"), ("é", "agentId", "only ASCII letters and digits, got 'é'"),
            ("a\u{7}", "agentId", "only ASCII letters and digits, got a control character"),
            ("user-42:chat.7_x", "sessionId", nil), ("x", "sessionId", "2 to 100 characters long, got 1"),
            ("ü", "sessionId", "2 to 100 characters long, got 1"), ("日本", "sessionId", "only ASCII letters, digits and the characters -.:_, got '日'"),
            ("e\u{301}x", "sessionId", "only ASCII letters, digits and the characters -.:_, got 'e\u{301}'"),
            (String(repeating: "a", count: 101), "sessionId", "got 101"),
        ] as [(String, String, String?)]
    )
    func rules(value: String, field: String, problem: String?) {
        let rule = field == "agentId" ? BedrockIdentifier.agentId : .sessionId
        let violation = rule.violation(in: value)
        if let problem {
            #expect(violation?.contains(problem) == true, "\(violation ?? "no violation")")
        } else {
            #expect(violation == nil)
        }
    }
}

@Suite("Line timestamps")
struct LineTimestampTests {
    /// The second's text is cached for the whole process, so a stale cache would show as a time
    /// that lags the clock by whole seconds.
    @Test("each line's timestamp is the wall clock's time, in milliseconds, across seconds")
    func followsTheClock() async throws {
        for _ in 0..<3 {
            var buffer = ByteBuffer()
            let before = Date()
            LineTimestamp.write(to: &buffer)
            let after = Date()
            let text = String(buffer: buffer)
            let stamped = try #require(AWSDateFormat.parseISO8601(text), "not a timestamp: \(text)")
            #expect(stamped.timeIntervalSince(before) > -0.0011 && stamped.timeIntervalSince(after) < 0.0001, "\(text) outside [\(before), \(after)]")
            try await Task.sleep(for: .milliseconds(600))
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    func configuration(_ variables: [String: String]) throws(ConfigurationError) -> ServiceConfiguration {
        try ServiceConfiguration(environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a }, homeDirectory: nil)
    }

    @Test("defaults are those of the README")
    func defaults() throws {
        let configuration = try self.configuration([:])
        #expect(configuration.port == 8000)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.debugMode == false)
        #expect(configuration.allowedOrigins == .any)
        #expect(configuration.defaultAgentAliasId == "TSTALIASID")
        #expect(configuration.maxInputCharacters == 25_000)
        #expect(configuration.maxConcurrentStreams == 1_000)
        #expect(configuration.streamFinalResponse == true)
        #expect(configuration.upstreamMaxAttempts == 3)
        #expect(configuration.shutdownGrace == .seconds(25))
        #expect(configuration.keepAliveTimeout == .seconds(620))
        #expect(configuration.region.name == "us-east-1")
        #expect(configuration.endpoints.bedrockAgentRuntime == "https://bedrock-agent-runtime.us-east-1.amazonaws.com")
    }

    @Test("values are read and typed")
    func values() throws {
        let configuration = try self.configuration([
            "PORT": "9000", "DEBUG_MODE": "yes", "ALLOWED_ORIGINS": "https://a.example.com,http://localhost:3000",
            "LOG_LEVEL": "warning", "LOG_FORMAT": "JSON", "IDLE_TIMEOUT_SECONDS": "2.5", "ALLOWED_AGENT_IDS": "A1, B2",
            "KEEP_ALIVE_TIMEOUT_SECONDS": "90",
            "AWS_REGION": "eu-west-1",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.debugMode)
        #expect(configuration.allowedOrigins == .only(["https://a.example.com", "http://localhost:3000"]))
        #expect(configuration.logLevel == .warning)
        #expect(configuration.logFormat == .json)
        #expect(configuration.idleTimeout == .milliseconds(2500))
        #expect(configuration.keepAliveTimeout == .seconds(90))
        #expect(configuration.allowedAgentIds == ["A1", "B2"])
        #expect(configuration.endpoints.bedrockAgentRuntime == "https://bedrock-agent-runtime.eu-west-1.amazonaws.com")
    }

    @Test(
        "an invalid value stops start-up naming its variable",
        arguments: [
            ("PORT", "eighty"), ("PORT", "70000"), ("DEBUG_MODE", "maybe"), ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"),
            ("MAX_CONCURRENT_STREAMS", "0"), ("IDLE_TIMEOUT_SECONDS", "-1"), ("FIRST_EVENT_TIMEOUT_SECONDS", "soon"),
            ("ALLOWED_ORIGINS", "not a url"), ("ALLOWED_AGENT_IDS", "ok,not-ok"), ("DEFAULT_AGENT_ALIAS_ID", "alias_1"),
            ("UPSTREAM_MAX_ATTEMPTS", "11"), ("HOST", ""), ("KEEP_ALIVE_TIMEOUT_SECONDS", "0"),
        ]
    )
    func invalid(name: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) { try self.configuration([name: value]) }
        #expect(error?.source == name)
        #expect(error?.description.contains(name) == true)
    }

    @Test(".env files: comments, quotes, export; the real environment wins")
    func dotEnv() throws {
        let parsed = try DotEnvFile.parse(
            """
            # settings
            export PORT=9001
            DEBUG_MODE = true  # inline comment
            ALLOWED_ORIGINS="https://a.example.com, https://b.example.com"
            LOG_FORMAT='json'
            EMPTY=

            """,
            source: ".env"
        )
        #expect(
            parsed == [
                "PORT": "9001", "DEBUG_MODE": "true", "ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com",
                "LOG_FORMAT": "json", "EMPTY": "",
            ]
        )
        let error = #expect(throws: ConfigurationError.self) { try DotEnvFile.parse("PORT=1\nthis line is wrong\n", source: ".env") }
        #expect(error?.source == ".env:2")
        let unterminated = #expect(throws: ConfigurationError.self) { try DotEnvFile.parse("A=\"open\n", source: ".env") }
        #expect(unterminated?.source == ".env:1")
    }
}

@Suite("Client disconnects")
struct ClientDisconnectHandlerTests {
    func controller(on channel: EmbeddedChannel) -> StreamController {
        StreamController(timeouts: .init(firstEvent: .seconds(60), idle: .seconds(60), total: .seconds(60)), eventLoop: channel.eventLoop)
    }

    @Test("the watched stream stops when the client closes its side or the connection drops")
    func stops() async throws {
        for close in ["input closed", "inactive"] {
            let channel = EmbeddedChannel()
            let handler = ClientDisconnectHandler()
            try channel.pipeline.syncOperations.addHandler(handler)
            let earlier = self.controller(on: channel)
            handler.watch(earlier)
            handler.stopWatching(earlier)
            let current = self.controller(on: channel)
            handler.watch(current)
            if close == "input closed" {
                channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            } else {
                _ = try? channel.finish()
            }
            // Embedded channels deliver events at once: a stop that happened is already recorded,
            // and finishing now makes `stopped()` answer `nil` for a stream that was not stopped.
            let late = self.controller(on: channel)
            handler.watch(late)
            for controller in [earlier, current, late] {
                controller.finish()
            }
            #expect(await current.stopped() == .clientDisconnected, "\(close)")
            #expect(await earlier.stopped() == nil, "a stream that ended is not stopped by a later close (\(close))")
            #expect(await late.stopped() == .clientDisconnected, "a stream that starts after the close stops at once (\(close))")
        }
    }
}

@Suite("Response heads")
struct ResponseHeadFlushHandlerTests {
    /// The parts a flush has sent so far.
    func sent(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.status.code)")
            case .body(let buffer): parts.append("body \(String(buffer: buffer))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    @Test("a final head waits for the next part's flush; an informational head goes at once")
    func heldUntilNextPart() throws {
        let channel = EmbeddedChannel(handler: ResponseHeadFlushHandler())
        try channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue))).wait()
        #expect(try self.sent(channel) == ["head 100"])

        channel.write(HTTPResponsePart.head(HTTPResponse(status: .ok)), promise: nil)
        channel.flush()
        #expect(try self.sent(channel) == [], "a head alone is held")
        try channel.writeAndFlush(HTTPResponsePart.body(ByteBuffer(string: "start"))).wait()
        #expect(try self.sent(channel) == ["head 200", "body start"], "the head leaves with the first line")
        try channel.writeAndFlush(HTTPResponsePart.body(ByteBuffer(string: "chunk"))).wait()
        try channel.writeAndFlush(HTTPResponsePart.end(nil)).wait()
        #expect(try self.sent(channel) == ["body chunk", "end"], "later parts are flushed as written")

        channel.write(HTTPResponsePart.head(HTTPResponse(status: .noContent)), promise: nil)
        channel.flush()
        try channel.writeAndFlush(HTTPResponsePart.end(nil)).wait()
        #expect(try self.sent(channel) == ["head 204", "end"], "a response without a body goes with its end")
        #expect(try channel.finish().isClean)
    }
}

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
}

@Suite("Upstream response")
struct UpstreamResponseTests {
    /// Answers any request with an endless chunked body, writing while the connection takes it,
    /// and counts the bytes written.
    final class EndlessBody: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let written: Shared<Int>
        let closed: Shared<Bool>
        private var answering = false

        init(written: Shared<Int>, closed: Shared<Bool>) {
            self.written = written
            self.closed = closed
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !self.answering else { return }
            self.answering = true
            context.write(self.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")), promise: nil)
            self.writeWhileWritable(context: context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if self.answering {
                self.writeWhileWritable(context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.closed.withLock { $0 = true }
        }

        private func writeWhileWritable(context: ChannelHandlerContext) {
            let piece = ByteBuffer(string: "4000\r\n" + String(repeating: "x", count: 0x4000) + "\r\n")
            while context.channel.isWritable {
                context.write(self.wrapOutboundOut(piece), promise: nil)
                self.written.withLock { $0 += piece.readableBytes }
                context.flush()
            }
        }
    }

    @Test("AsyncHTTPClient reads no further than the stream has taken, and a cancel ends the call at once")
    func pacedAndCancelled() async throws {
        let written = Shared(0)
        let closed = Shared(false)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EndlessBody(written: written, closed: closed))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton.next())
        let response = UpstreamResponse.start(
            try HTTPClient.Request(url: "http://127.0.0.1:\(server.localAddress!.port!)/"),
            on: client,
            eventLoop: client.eventLoopGroup.next(),
            deadline: .now() + .seconds(30)
        )
        #expect(try await response.head().status == .ok)
        #expect(try await response.nextBodyPart() != nil)
        // Once the sockets' buffers are full, the server can write no more while the stream takes
        // nothing. Unpaced, the client would read on as fast as the server writes.
        try await Task.sleep(for: .milliseconds(300))
        let filled = written.value
        try await Task.sleep(for: .milliseconds(300))
        #expect(written.value - filled < 1 << 20, "the server wrote on while the stream took nothing")

        response.cancel()
        await #expect(throws: CancellationError.self) { try await response.nextBodyPart() }
        await #expect(throws: CancellationError.self, "a read after the end gets the end again") { try await response.nextBodyPart() }
        #expect(try await eventually { closed.value }, "the connection is closed")
        try await client.shutdown()
        try await server.close()
    }
}

@Suite("Bedrock connection pools")
struct AWSHTTPClientsTests {
    @Test("streams fill one pool of the loop they run on before the next; other loops have their own")
    func poolsFillInTurn() async throws {
        let configuration = try ServiceConfiguration(
            environment: ["MAX_CONCURRENT_STREAMS": "600", "AWS_EC2_METADATA_DISABLED": "true"],
            homeDirectory: nil
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let clients = AWSHTTPClients(configuration: configuration, eventLoopGroup: group)
        let loops = Array(group.makeIterator())
        let held = AWSHTTPClients.streamsPerPool + 44
        // Holds `held` streams open on the first loop at once and notes the pool each one got.
        let (opened, allOpened) = AsyncStream<Void>.makeStream()
        let pools = await withTaskGroup(of: ObjectIdentifier.self) { tasks in
            let release = Shared(false)
            for _ in 0..<held {
                tasks.addTask {
                    try! await clients.withBedrockClient(on: loops[0]) { pool in
                        #expect(pool.eventLoopGroup === loops[0], "a pool lives on the stream's loop")
                        allOpened.yield()
                        while !release.value { try await Task.sleep(for: .milliseconds(5)) }
                        return ObjectIdentifier(pool)
                    }
                }
            }
            var count = 0
            for await _ in opened {
                count += 1
                if count == held { break }
            }
            release.withLock { $0 = true }
            return await tasks.reduce(into: [ObjectIdentifier: Int]()) { $0[$1, default: 0] += 1 }
        }
        #expect(pools.values.sorted() == [held - AWSHTTPClients.streamsPerPool, AWSHTTPClients.streamsPerPool])
        let alone = try await clients.withBedrockClient(on: loops[0]) { ObjectIdentifier($0) }
        #expect(pools[alone] == AWSHTTPClients.streamsPerPool, "once the streams ended, the first pool serves again")
        let other = try await clients.withBedrockClient(on: loops[1]) { $0 }
        #expect(other.eventLoopGroup === loops[1])
        #expect(pools[ObjectIdentifier(other)] == nil)
        try await clients.shutdown()
        try await group.shutdownGracefully()
    }
}

@Suite("Health check command")
struct HealthCheckCommandTests {
    @Test("exits 0 against a healthy service and fails against nothing")
    func healthcheck() async throws {
        try await withService { service in
            let healthy = try HealthCheck.parse(["--url", service.baseURL + "/health"])
            try await healthy.run()
        }
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closed = refusing.port
        let unhealthy = try HealthCheck.parse(["--url", "http://127.0.0.1:\(closed)/health", "--timeout", "2"])
        await #expect(throws: (any Error).self) { try await unhealthy.run() }
    }
}
