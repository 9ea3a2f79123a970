import Foundation
import NIOCore
import Testing

@testable import EventStream

/// Real InvokeAgent answers decode with valid checksums, however the bytes are cut, and their chunk
/// text is exactly what the recording says.
@Suite("Recorded InvokeAgent captures")
struct CaptureTests {
    struct Summary: Decodable {
        var frames: Int
        var events: [String: Int]
        var final_text: String
    }

    struct ChunkPayload: Decodable {
        var bytes: String
    }

    static let names = (try? TestData.names(in: TestData.fixtures, withExtension: "eventstream")) ?? []

    @Test("all four captures are present")
    func capturesArePresent() {
        #expect(Self.names == ["CAPGUARD", "CAPKB", "CAPMULTI", "CAPSIMPLE"])
    }

    @Test("capture decodes in one piece and in random pieces", arguments: names)
    func capture(name: String) throws {
        let bytes = try TestData.bytes(TestData.fixtures.appendingPathComponent("\(name).eventstream"))
        let summary = try JSONDecoder().decode(
            Summary.self,
            from: Data(contentsOf: TestData.fixtures.appendingPathComponent("captures/\(name).json"))
        )

        let whole = try decodeAll([bytes])
        #expect(whole.count == summary.frames)
        var counts: [String: Int] = [:]
        for message in whole {
            #expect(try message.kind == .event(type: message.eventType ?? ""))
            #expect(message.headers.map(\.name) == [":event-type", ":content-type", ":message-type"])
            #expect(message.contentType == "application/json")
            counts[message.eventType!, default: 0] += 1
        }
        #expect(counts == summary.events)
        #expect(try Self.chunkText(whole) == summary.final_text)

        var rng = SplitMix64(seed: 0xCA97)
        for maximumPiece in [1, 7, 64, 1500, 20_000] {
            let pieces = bytes.randomPieces(using: &rng, maximumPiece: maximumPiece)
            let decoded = try decodeAll(pieces)
            #expect(decoded == whole, "pieces of at most \(maximumPiece) bytes")
        }

        // Every frame re-encodes to the bytes it came from.
        var reencoded = ByteBuffer()
        for message in whole {
            try EventStreamEncoder().encode(message, into: &reencoded)
        }
        #expect(reencoded == bytes)
    }

    static func chunkText(_ messages: [EventStreamMessage]) throws -> String {
        var text: [UInt8] = []
        for message in messages where message.eventType == "chunk" {
            let chunk = try JSONDecoder().decode(ChunkPayload.self, from: Data(message.payload.readableBytesView))
            text += try #require(Data(base64Encoded: chunk.bytes))
        }
        return String(decoding: text, as: UTF8.self)
    }
}
