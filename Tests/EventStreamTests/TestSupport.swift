import Foundation
import NIOCore

@testable import EventStream

/// Where the tests find their data: the copied vectors beside this file, the captures in `Fixtures/`.
enum TestData {
    static let vectors = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Resources/eventstream-vectors")
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures")
        .standardized

    static func bytes(_ url: URL) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: url))
    }

    static func names(in url: URL, withExtension ext: String? = nil) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { ext == nil || $0.hasSuffix(".\(ext!)") }
            .map { ext == nil ? $0 : String($0.dropLast(ext!.count + 1)) }
            .sorted()
    }
}

/// A seeded generator, so a failing property case can be reproduced from the seed it reports.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    /// Cuts the readable bytes into consecutive pieces at random points.
    func randomPieces(using rng: inout some RandomNumberGenerator, maximumPiece: Int) -> [ByteBuffer] {
        var rest = self
        var pieces: [ByteBuffer] = []
        while rest.readableBytes > 0 {
            let length = Int.random(in: 1...Swift.min(maximumPiece, rest.readableBytes), using: &rng)
            pieces.append(rest.readSlice(length: length)!)
        }
        return pieces
    }
}

/// Runs the decoder over `pieces` as a stream that then ends, the way a consumer of the codec would.
func decodeAll(_ pieces: [ByteBuffer]) throws -> [EventStreamMessage] {
    let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
    var messages: [EventStreamMessage] = []
    for piece in pieces {
        try processor.process(buffer: piece) { messages.append($0) }
    }
    try processor.finishProcessing(seenEOF: true) { messages.append($0) }
    return messages
}

/// Decodes `pieces` and returns the error the decoder raised, or `nil` when it raised none.
func decodingError(_ pieces: [ByteBuffer]) -> EventStreamError? {
    do {
        _ = try decodeAll(pieces)
        return nil
    } catch {
        return error as? EventStreamError
    }
}

/// Builds a frame around arbitrary header bytes with correct checksums, to reach the header
/// parser with malformed headers.
func frame(headerBytes: [UInt8], payload: [UInt8] = []) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(16 + headerBytes.count + payload.count))
    buffer.writeInteger(UInt32(headerBytes.count))
    buffer.writeInteger(buffer.crc32(at: 0, length: 8))
    buffer.writeBytes(headerBytes)
    buffer.writeBytes(payload)
    buffer.writeInteger(buffer.crc32(at: 0, length: buffer.writerIndex))
    return buffer
}

/// Builds a prelude with a correct checksum for any pair of lengths.
func prelude(totalLength: UInt32, headersLength: UInt32) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(totalLength)
    buffer.writeInteger(headersLength)
    buffer.writeInteger(buffer.crc32(at: 0, length: 8))
    return buffer
}
