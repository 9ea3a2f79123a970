import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AgentStreamingService

@Suite("Stream relay")
struct StreamRelayTests {
    /// One line a call (`line N`), so every event is a batch of its own.
    final class Lines: StreamLines {
        func lines(from events: [AgentEvent], next: inout Int, into lines: inout ByteBuffer) {
            lines.writeString("line \(next)\n")
            next += 1
        }

        func heartbeat(into buffer: inout ByteBuffer) {
            buffer.writeString(": ping\n\n")
        }
    }

    struct Fixture {
        let channel = EmbeddedChannel()
        let controller: StreamController
        let relay: StreamRelay

        init() throws {
            try self.channel.pipeline.syncOperations.addHandler(StreamWriteHandler())
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            let loop = self.channel.embeddedEventLoop
            self.controller = StreamController(
                timeouts: .init(firstEvent: .seconds(100), idle: .seconds(100), total: .seconds(100)),
                eventLoop: loop
            )
            let handler = try self.channel.pipeline.syncOperations.handler(type: StreamWriteHandler.self)
            self.relay = StreamRelay(
                stream: Lines(),
                connection: NIOLoopBound(handler, eventLoop: loop),
                controller: self.controller,
                eventLoop: loop
            )
        }

        /// The body parts written so far.
        func written() throws -> [String] {
            var parts: [String] = []
            while let part = try self.channel.readOutbound(as: HTTPServerResponsePart.self) {
                guard case .body(.byteBuffer(let buffer)) = part else {
                    Issue.record("not a body part: \(part)")
                    continue
                }
                parts.append(String(buffer: buffer))
            }
            return parts
        }

        func setWritable(_ writable: Bool) {
            self.channel.isWritable = writable
            self.channel.pipeline.fireChannelWritabilityChanged()
        }
    }

    static func events(_ count: Int) -> [AgentEvent] {
        (0..<count).map { _ in AgentEvent.unknown(eventType: "x") }
    }

    @Test("the events are written in order, each batch flushed, and the read goes on at once")
    func writesInOrder() throws {
        let fixture = try Fixture()
        var events = Self.events(3)
        #expect(fixture.relay.take(&events) == nil, "a writable connection takes more at once")
        #expect(events.isEmpty)
        #expect(try fixture.written() == ["line 0\n", "line 1\n", "line 2\n"])
        var more = Self.events(1)
        #expect(fixture.relay.take(&more) == nil)
        #expect(try fixture.written() == ["line 0\n"])
    }

    @Test("a full connection holds the rest and the next read until it drains")
    func waitsForTheClient() throws {
        let fixture = try Fixture()
        fixture.setWritable(false)
        var events = Self.events(3)
        let wait = try #require(fixture.relay.take(&events), "the relay waits on a full connection")
        #expect(try fixture.written() == ["line 0\n"], "one batch, then the wait")
        var completed = false
        wait.whenComplete { _ in completed = true }
        #expect(!completed)
        #expect(try fixture.written() == [])

        // The answer's end can bring events while the earlier ones wait: they go after them.
        var end = Self.events(1)
        #expect(fixture.relay.take(&end) === wait)
        #expect(end.isEmpty)

        fixture.setWritable(true)
        #expect(completed, "the read goes on once the rest is written")
        #expect(try fixture.written() == ["line 1\n", "line 2\n", "line 3\n"])
    }

    @Test("a closed connection ends the wait, and the events after it are dropped")
    func closed() throws {
        let fixture = try Fixture()
        fixture.setWritable(false)
        var events = Self.events(2)
        let wait = try #require(fixture.relay.take(&events))
        var completed = false
        wait.whenComplete { _ in completed = true }
        #expect(try fixture.written() == ["line 0\n"])
        try fixture.channel.close().wait()
        #expect(completed, "a close ends the wait")
        var after = Self.events(2)
        #expect(fixture.relay.take(&after) == nil)
        #expect(try fixture.written() == [])
    }
}
