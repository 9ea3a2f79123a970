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

@Suite("Upstream response", .timeLimit(.minutes(2)))
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

    /// Takes the first piece and holds AsyncHTTPClient's next read until `release`; records the end.
    final class HoldingReader: UpstreamBodyReader, @unchecked Sendable {
        let pieces = Shared(0)
        let end = Shared<String?>(nil)
        let endings = Shared(0)
        private let hold: EventLoopPromise<Void>

        init(hold: EventLoopPromise<Void>) {
            self.hold = hold
        }

        func read(_ piece: ByteBuffer) -> EventLoopFuture<Void>? {
            self.pieces.withLock { $0 += 1 }
            return self.hold.futureResult
        }

        func ended(_ error: (any Error)?) {
            self.endings.withLock { $0 += 1 }
            self.end.withLock { $0 = error.map { "\(type(of: $0))" } ?? "finished" }
        }
    }

    @Test("AsyncHTTPClient reads no further than the reader has taken, and a cancel ends the call at once")
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
        let loop = client.eventLoopGroup.next()
        let response = UpstreamResponse.start(
            try HTTPClient.Request(url: "http://127.0.0.1:\(server.localAddress!.port!)/"),
            on: client,
            eventLoop: loop,
            deadline: .now() + .seconds(30)
        )
        #expect(try await response.head().status == .ok)
        // Attached after the head: the piece read meanwhile is handed over first.
        try await Task.sleep(for: .milliseconds(100))
        let hold = loop.makePromise(of: Void.self)
        let reader = HoldingReader(hold: hold)
        response.read(with: reader, on: loop)
        #expect(try await eventually { reader.pieces.value == 1 })
        // Once the sockets' buffers are full, the server can write no more while the reader holds
        // the read. Unpaced, the client would read on as fast as the server writes.
        try await Task.sleep(for: .milliseconds(300))
        let filled = written.value
        try await Task.sleep(for: .milliseconds(300))
        #expect(written.value - filled < 1 << 20, "the server wrote on while the reader took nothing")
        #expect(reader.pieces.value == 1)

        response.cancel()
        #expect(try await eventually { reader.end.value == "CancellationError" }, "the reader is told of the cancel")
        #expect(try await eventually { closed.value }, "the connection is closed")
        hold.succeed()
        try await Task.sleep(for: .milliseconds(100))
        #expect(reader.endings.value == 1, "the end is told once")
        try await client.shutdown()
        try await server.close()
    }
}
