import NIOCore
import NIOEmbedded
import Testing

@testable import AgentStreamingService

@Suite("ConnectionGuardHandler")
struct ConnectionGuardHandlerTests {
    private func channel() throws -> (EmbeddedChannel, ConnectionGuardHandler) {
        let guardHandler = ConnectionGuardHandler(
            limits: .init(requestReadTimeout: .seconds(1), writeStallTimeout: .seconds(10)),
            metrics: ServiceMetrics()
        )
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(guardHandler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
        return (channel, guardHandler)
    }

    private func outbound(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let bytes) = part {
                text += String(buffer: bytes)
            }
        }
        return text
    }

    @Test("shutdown refuses a request still arriving, but not while a response is under way on its connection")
    func shutdown() throws {
        let (channel, guardHandler) = try self.channel()
        try channel.writeInbound(ByteBuffer(string: "POST /api/agent/stream HTTP/1.1\r\n"))
        guardHandler.responseStarted()
        guardHandler.closeIfReadingRequest()
        #expect(channel.isActive, "the stream in flight is left to finish")
        #expect(try self.outbound(channel) == "")
        guardHandler.responseEnded()
        guardHandler.closeIfReadingRequest()
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(try self.outbound(channel).hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
    }
}
