import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AgentStreamingService

/// ``StreamWriteHandler`` in the pipeline it has in the service: its lines framed as chunks by
/// itself and written below NIO's encoder must be the bytes the encoder writes for the same body,
/// and an HTTP/1.0 response's body must go unframed.
@Suite("StreamWriteHandler")
struct StreamWriteHandlerTests {
    /// The service's order: the guard, NIO's HTTP/1 server codec, the policy handler, then this one.
    private func channel(framing: Bool) throws -> (EmbeddedChannel, StreamWriteHandler) {
        let guardHandler = ConnectionGuardHandler(
            limits: .init(requestReadTimeout: .seconds(10), writeStallTimeout: .seconds(10)),
            metrics: ServiceMetrics()
        )
        let policy = HTTPMessagePolicyHandler(guardHandler: guardHandler)
        let writer = framing ? StreamWriteHandler(policy: policy, rawBytes: guardHandler) : StreamWriteHandler()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(guardHandler)
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandlers([policy, writer])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
        return (channel, writer)
    }

    /// The bytes on the wire for a request of `version` answered with a streamed 200 whose body is
    /// `lines`, each written through the handler, and how many writes reached the socket.
    private func wire(version: String, lines: [String], framing: Bool) throws -> (bytes: String, writes: Int) {
        let (channel, writer) = try self.channel(framing: framing)
        try channel.writeInbound(ByteBuffer(string: "POST /api/agent/stream HTTP/\(version)\r\nHost: s\r\nContent-Length: 2\r\n\r\n{}"))
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil {}
        try channel.writeOutbound(
            HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok, headers: ["content-type": "application/x-ndjson"]))
        )
        for line in lines {
            var buffer = StreamWriteHandler.buffer(capacity: 16)
            buffer.writeString(line)
            _ = writer.write(&buffer)
        }
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        var wire = ""
        var writes = 0
        while let part = try channel.readOutbound(as: IOData.self) {
            writes += 1
            guard case .byteBuffer(let buffer) = part else {
                Issue.record("a file region was written")
                continue
            }
            wire += String(buffer: buffer)
        }
        _ = try? channel.finish()
        return (wire, writes)
    }

    @Test("framed by the handler, an HTTP/1.1 body is byte for byte what NIO's encoder writes")
    func chunked() throws {
        // Sizes around the hexadecimal digits: 1, 15, 16, 255, 256 and 4,096 bytes.
        let lines = [1, 15, 16, 255, 256, 4_096].map { String(repeating: "x", count: $0 - 1) + "\n" }
        let (framed, framedWrites) = try self.wire(version: "1.1", lines: lines, framing: true)
        let (encoded, encodedWrites) = try self.wire(version: "1.1", lines: lines, framing: false)
        #expect(framed == encoded)
        // The encoder writes a chunk as three buffers (size line, bytes, CRLF); framed here, one.
        #expect(encodedWrites - framedWrites == 2 * lines.count, "the lines took the framing path")
        #expect(framed.contains("transfer-encoding: chunked\r\n"))
        #expect(framed.contains("\r\n1\r\n\n\r\nf\r\n"), "the size of each chunk in lowercase hexadecimal")
        #expect(framed.contains("\r\nff\r\n") && framed.contains("\r\n100\r\n") && framed.contains("\r\n1000\r\n"))
        #expect(framed.hasSuffix("\n\r\n0\r\n\r\n"), "the last chunk, then the encoder's end")
    }

    @Test("an HTTP/1.0 client's body is not chunked: its lines go unframed, and the close ends it")
    func http10() throws {
        let (wire, _) = try self.wire(version: "1.0", lines: ["{\"a\":1}\n", "{\"b\":2}\n"], framing: true)
        #expect(wire.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!wire.lowercased().contains("transfer-encoding"))
        #expect(wire.hasSuffix("\r\n\r\n{\"a\":1}\n{\"b\":2}\n"))
    }

    @Test("a chunk's size line goes in the room before the lines; no room or no bytes, no framing")
    func frame() {
        var buffer = StreamWriteHandler.buffer(capacity: 64)
        buffer.writeString(String(repeating: "y", count: 42))
        #expect(StreamWriteHandler.frame(&buffer))
        #expect(String(buffer: buffer) == "2a\r\n" + String(repeating: "y", count: 42) + "\r\n")

        var empty = StreamWriteHandler.buffer(capacity: 8)
        #expect(!StreamWriteHandler.frame(&empty), "an empty chunk would end the response")
        var cramped = ByteBuffer(string: "no room before")
        #expect(!StreamWriteHandler.frame(&cramped))
        #expect(String(buffer: cramped) == "no room before", "left as it was")
    }
}
