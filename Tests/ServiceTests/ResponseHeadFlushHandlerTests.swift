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
