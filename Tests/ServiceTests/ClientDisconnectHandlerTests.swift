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
