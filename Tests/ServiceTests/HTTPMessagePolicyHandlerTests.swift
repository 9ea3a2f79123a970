import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("HTTPMessagePolicyHandler")
struct HTTPMessagePolicyHandlerTests {
    private func channel() throws -> EmbeddedChannel {
        let guardHandler = ConnectionGuardHandler(
            limits: .init(requestReadTimeout: .seconds(10), writeStallTimeout: .seconds(10)),
            metrics: ServiceMetrics()
        )
        // The guard sits on the raw bytes, before the HTTP codec; these tests write HTTP parts, so it
        // has a channel of its own, and the policy handler only tells it where requests end.
        _ = EmbeddedChannel(handler: guardHandler)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPMessagePolicyHandler(guardHandler: guardHandler))
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
