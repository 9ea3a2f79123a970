import BedrockAgentCore
import NIOCore
import Testing

@testable import AgentStreamingService

/// The decoder of an AgentCore container's Server-Sent Events on its own: line ends of every
/// kind, split anywhere between reads; comments and other fields; the size limit; the end.
@Suite("Server-Sent Event decoder")
struct ServerSentEventDecoderTests {
    /// The data of every event `pieces` make, fed one piece per read.
    static func events(_ pieces: [String]) throws -> [String] {
        let processor = NIOSingleStepByteToMessageProcessor(ServerSentEventDecoder())
        var events: [String] = []
        for piece in pieces {
            try processor.process(buffer: ByteBuffer(string: piece)) { events.append(String(buffer: $0)) }
        }
        try processor.finishProcessing(seenEOF: true) { events.append(String(buffer: $0)) }
        return events
    }

    static let stream =
        ": ping\r\n\r\ndata: \"one\"\r\n\r\nevent: x\nid: 7\ndata:{\"a\":\ndata: 1}\n\ndata: two\r\rdata: three\n\ndata: x\r\ndata: y\r\n\r\n"
    static let expected = [#""one""#, "{\"a\":\n1}", "two", "three", "x\ny"]

    @Test("line ends \\n, \\r\\n and \\r; comments, event and id lines; multi-line data joined with \\n")
    func whole() throws {
        #expect(try Self.events([Self.stream]) == Self.expected)
    }

    @Test("the same events whichever byte a read ends at, a \\r\\n split between two reads included")
    func splitAnywhere() throws {
        let bytes = Array(Self.stream.utf8)
        for cut in 1..<bytes.count {
            let pieces = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            #expect(try Self.events(pieces) == Self.expected, "cut at \(cut)")
        }
        #expect(try Self.events(Self.stream.map { String($0) }) == Self.expected, "a byte a read")
    }

    @Test("the last event counts without its blank line; a body of nothing has no events")
    func end() throws {
        #expect(try Self.events(["data: \"a\"\n\ndata: \"last\""]) == [#""a""#, #""last""#])
        #expect(try Self.events(["data: \"last\"\n"]) == [#""last""#])
        #expect(try Self.events([""]) == [])
        #expect(try Self.events([": only a comment\n\n"]) == [])
    }

    @Test("an event over the limit is an error, whether in one line or many")
    func limit() throws {
        let long = String(repeating: "x", count: ServerSentEventDecoder.maximumEventBytes + 1)
        #expect(throws: ServerSentEventDecoder.EventTooLarge.self) { try Self.events(["data: " + long]) }
        let lines = String(repeating: "data: " + String(repeating: "y", count: 1000) + "\n", count: 1100)
        #expect(throws: ServerSentEventDecoder.EventTooLarge.self) { try Self.events([lines]) }
        #expect(try Self.events(["data: " + String(repeating: "z", count: 1000) + "\n\n"]).count == 1)
    }
}
