import NIOCore
import Testing

@testable import EventStream

/// Random messages of every header type survive encoding and decoding whatever the cut points, and
/// no single corrupted byte ever gets a frame through.
@Suite("Codec properties")
struct RoundTripPropertyTests {
    static func randomValue(using rng: inout SplitMix64) -> EventStreamHeaderValue {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .bool(true)
        case 1: return .bool(false)
        case 2: return .byte(Int8.random(in: .min ... .max, using: &rng))
        case 3: return .int16(Int16.random(in: .min ... .max, using: &rng))
        case 4: return .int32(Int32.random(in: .min ... .max, using: &rng))
        case 5: return .int64(Int64.random(in: .min ... .max, using: &rng))
        case 6:
            return .byteArray(randomBytes([0, 1, 16, 300, 10_000].randomElement(using: &rng)!, using: &rng))
        case 7:
            let alphabet = Array("aZ09-:/ é€😀")
            let count = Int.random(in: 0...40, using: &rng)
            return .string(String((0..<count).map { _ in alphabet.randomElement(using: &rng)! }))
        case 8: return .timestamp(milliseconds: Int64.random(in: .min ... .max, using: &rng))
        default: return .uuid(UUIDBytes(high: rng.next(), low: rng.next()))
        }
    }

    static func randomMessage(using rng: inout SplitMix64, maximumPayload: Int = 1_000_000) -> EventStreamMessage {
        let headers = (0..<Int.random(in: 0...10, using: &rng)).map { index in
            EventStreamHeader(
                name: index == 0 ? String(repeating: "n", count: 255) : ":header-\(index)",
                value: randomValue(using: &rng)
            )
        }
        let payloadLength = [0, 1, 20, 1000, 64 * 1024, maximumPayload].randomElement(using: &rng)!
        return EventStreamMessage(headers: headers, payload: ByteBuffer(bytes: randomBytes(payloadLength, using: &rng)))
    }

    static func randomBytes(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: rng.next()) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    @Test("random messages round-trip through random cuts", arguments: 0..<8)
    func roundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let messages = (0..<12).map { _ in Self.randomMessage(using: &rng) }
        var stream = ByteBuffer()
        for message in messages {
            try EventStreamEncoder().encode(message, into: &stream)
        }
        // Byte-at-a-time feeding is exercised on streams small enough to keep a debug build quick.
        for maximumPiece in [1, 3, 100, 70_000, stream.readableBytes] where maximumPiece > 3 || stream.readableBytes < 300_000 {
            let decoded = try decodeAll(stream.randomPieces(using: &rng, maximumPiece: maximumPiece))
            #expect(decoded == messages, "seed \(seed), pieces of at most \(maximumPiece) bytes")
        }
    }

    @Test("every single-byte corruption is rejected with the checksum that covers it", arguments: 0..<4)
    func corruption(seed: UInt64) throws {
        var rng = SplitMix64(seed: 0xC0_0000 + seed)
        for _ in 0..<300 {
            let message = Self.randomMessage(using: &rng, maximumPayload: 2048)
            var frame = try EventStreamEncoder().encode(message)
            let position = Int.random(in: 0..<frame.readableBytes, using: &rng)
            let flip = UInt8.random(in: 1...255, using: &rng)
            frame.setInteger(frame.getInteger(at: position, as: UInt8.self)! ^ flip, at: position)

            let error = try #require(decodingError([frame]), "corruption at \(position) went through")
            let expected: EventStreamError.Code =
                position < EventStreamFrame.preludeLength ? .preludeChecksumMismatch : .messageChecksumMismatch
            #expect(error.code == expected, "byte \(position) of \(frame.readableBytes): \(error)")
        }
    }
}
