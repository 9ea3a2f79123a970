import NIOCore
import Testing

@testable import EventStream

/// The incremental decoder's contract: delivery the moment a frame completes, bounded buffering,
/// and a distinct error for every violation of the format.
@Suite("Incremental decoder")
struct DecoderTests {
    static func sampleStream() throws -> (stream: ByteBuffer, frameEnds: [Int]) {
        var stream = ByteBuffer()
        var ends: [Int] = []
        for text in ["Hello", "", "wörld, a slightly longer chunk of text"] {
            try EventStreamEncoder().encode(.event("chunk", payload: ByteBuffer(string: text)), into: &stream)
            ends.append(stream.readableBytes)
        }
        return (stream, ends)
    }

    @Test("each message is handed over when its last byte arrives, one byte at a time")
    func deliveryAtLastByte() throws {
        let (stream, frameEnds) = try Self.sampleStream()
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        var deliveredAt: [Int] = []
        var frameStart = 0
        for offset in 0..<stream.readableBytes {
            try processor.process(buffer: stream.getSlice(at: offset, length: 1)!) { _ in
                deliveredAt.append(offset + 1)
            }
            if deliveredAt.last == offset + 1 {
                frameStart = offset + 1
            }
            // Only the bytes of the frame in progress are held.
            #expect(processor.unprocessedBytes == offset + 1 - frameStart)
        }
        try processor.finishProcessing(seenEOF: true) { _ in Issue.record("nothing is left to deliver") }
        #expect(deliveredAt == frameEnds)
    }

    @Test("decodes through AsyncSequence.decode(using:)")
    func asyncSequence() async throws {
        let (stream, _) = try Self.sampleStream()
        var rng = SplitMix64(seed: 7)
        let pieces = stream.randomPieces(using: &rng, maximumPiece: 9)
        let source = AsyncStream<ByteBuffer> { continuation in
            for piece in pieces {
                continuation.yield(piece)
            }
            continuation.finish()
        }
        var texts: [String] = []
        for try await message in source.decode(using: EventStreamDecoder()) {
            texts.append(String(buffer: message.payload))
        }
        #expect(texts == ["Hello", "", "wörld, a slightly longer chunk of text"])
    }

    @Test("a stream that ends inside a frame is an error, in a prelude or after it", arguments: [5, 12, 40])
    func truncated(keep: Int) async throws {
        let (stream, _) = try Self.sampleStream()
        let cut = stream.getSlice(at: 0, length: keep)!
        let error = try #require(decodingError([cut]))
        #expect(error.code == .truncatedFrame)
        #expect(error.detail.contains("\(keep) bytes"))

        let source = AsyncStream<ByteBuffer> { continuation in
            continuation.yield(cut)
            continuation.finish()
        }
        await #expect(throws: EventStreamError.self) {
            for try await _ in source.decode(using: EventStreamDecoder()) {}
        }
    }

    @Test("an empty stream is no message and no error")
    func emptyStream() throws {
        #expect(try decodeAll([]).isEmpty)
    }

    @Test("an oversized frame is refused from its prelude, before its bytes are buffered")
    func oversizedRefusedEarly() throws {
        var decoder = EventStreamDecoder()
        var buffer = prelude(totalLength: 16 * 1024 * 1024 + 1, headersLength: 0)
        #expect(throws: EventStreamError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test(
        "prelude length rules",
        arguments: [
            (UInt32(15), UInt32(0), EventStreamError.Code.messageTooShort),
            (UInt32(0), UInt32(0), .messageTooShort),
            (UInt32(16 * 1024 * 1024 + 1), UInt32(0), .messageTooLong),
            (UInt32.max, UInt32(0), .messageTooLong),
            (UInt32(200_000), UInt32(128 * 1024 + 1), .headersTooLong),
            (UInt32(20), UInt32(5), .headersPastFrameEnd),
            (UInt32(100), UInt32.max, .headersTooLong),
        ]
    )
    func preludeRules(total: UInt32, headers: UInt32, code: EventStreamError.Code) throws {
        let error = try #require(decodingError([prelude(totalLength: total, headersLength: headers)]))
        #expect(error.code == code, "\(error)")
    }

    @Test("the limits themselves are accepted")
    func limitsAccepted() throws {
        var payload = ByteBuffer()
        payload.writeRepeatingByte(0x61, count: 16 * 1024 * 1024 - 16)
        let largest = EventStreamMessage(payload: payload)
        #expect(try decodeAll([EventStreamEncoder().encode(largest)]) == [largest])

        // 128 KiB of headers: 512 headers of 256 bytes each (1 + 4 name + 1 type + 2 length + 248 value).
        let headers = (0..<512).map { index in
            EventStreamHeader(name: String(format4: index), value: .byteArray(Array(repeating: 7, count: 248)))
        }
        let widest = EventStreamMessage(headers: headers)
        let longestValues = [
            EventStreamMessage(headers: [EventStreamHeader(name: "s", value: .string(String(repeating: "é", count: 32_767) + "x"))]),
            EventStreamMessage(headers: [EventStreamHeader(name: "b", value: .byteArray(Array(repeating: 1, count: 65_535)))]),
        ]
        for message in longestValues {
            #expect(try decodeAll([EventStreamEncoder().encode(message)]) == [message])
        }
        let frame = try EventStreamEncoder().encode(widest)
        #expect(frame.getInteger(at: 4, as: UInt32.self) == UInt32(EventStreamFrame.maximumHeadersLength))
        #expect(try decodeAll([frame]) == [widest])
    }

    @Test(
        "malformed headers",
        arguments: [
            ([0, 7, 0, 0], EventStreamError.Code.emptyHeaderName),
            ([1, 0x61, 10], .unknownHeaderType),
            ([1, 0x61, 255], .unknownHeaderType),
            ([5, 0x61, 0x62], .headerOverrun),
            ([1, 0x61], .headerOverrun),
            ([1, 0x61, 4, 0, 0], .headerOverrun),
            ([1, 0x61, 7, 0, 10, 0x62], .headerOverrun),
            ([1, 0x61, 6, 0], .headerOverrun),
            ([1, 0x61, 9, 1, 2, 3, 4, 5, 6, 7, 8], .headerOverrun),
            ([1, 0xFF, 0], .invalidHeaderString),
            ([1, 0x61, 7, 0, 2, 0xC3, 0x28], .invalidHeaderString),
        ] as [([UInt8], EventStreamError.Code)]
    )
    func malformedHeader(bytes: [UInt8], code: EventStreamError.Code) throws {
        let error = try #require(decodingError([frame(headerBytes: bytes, payload: [1, 2, 3])]))
        #expect(error.code == code, "\(error)")
    }

    @Test("after an error the decoder keeps failing instead of resynchronising on garbage")
    func failureIsSticky() throws {
        var decoder = EventStreamDecoder()
        var corrupt = prelude(totalLength: 15, headersLength: 0)
        #expect(throws: EventStreamError.self) { try decoder.decode(buffer: &corrupt) }
        var valid = try EventStreamEncoder().encode(.event("chunk", payload: ByteBuffer(string: "x")))
        let error = #expect(throws: EventStreamError.self) { try decoder.decode(buffer: &valid) }
        #expect(error?.code == .messageTooShort)
    }

    /// Headers the wire cannot carry, named rather than built so failures print small.
    enum UnencodableHeader: CaseIterable {
        case emptyName, nameOf256Bytes, stringOf65536Bytes, byteArrayOf65536Bytes

        var header: EventStreamHeader {
            switch self {
            case .emptyName: EventStreamHeader(name: "", value: .bool(true))
            case .nameOf256Bytes: EventStreamHeader(name: String(repeating: "x", count: 256), value: .bool(true))
            case .stringOf65536Bytes: EventStreamHeader(name: "s", value: .string(String(repeating: "x", count: 65_536)))
            case .byteArrayOf65536Bytes: EventStreamHeader(name: "b", value: .byteArray(Array(repeating: 0, count: 65_536)))
            }
        }

        var code: EventStreamError.Code {
            switch self {
            case .emptyName: .emptyHeaderName
            case .nameOf256Bytes: .headerNameTooLong
            case .stringOf65536Bytes, .byteArrayOf65536Bytes: .headerValueTooLong
            }
        }
    }

    @Test("the encoder refuses what the wire cannot carry", arguments: UnencodableHeader.allCases)
    func encoderLimits(_ unencodable: UnencodableHeader) throws {
        var buffer = ByteBuffer(string: "kept")
        let error = #expect(throws: EventStreamError.self) {
            try EventStreamEncoder().encode(EventStreamMessage(headers: [unencodable.header]), into: &buffer)
        }
        #expect(error?.code == unencodable.code)
        #expect(String(buffer: buffer) == "kept", "nothing is written for a refused message")
    }

    @Test("the encoder refuses a frame over 16 MiB")
    func encoderRefusesOversizedFrame() throws {
        var payload = ByteBuffer()
        payload.writeRepeatingByte(0, count: 16 * 1024 * 1024 - 15)
        let error = #expect(throws: EventStreamError.self) {
            try EventStreamEncoder().encode(EventStreamMessage(payload: payload))
        }
        #expect(error?.code == .messageTooLong)
    }
}

extension String {
    /// Four zero-padded decimal digits.
    fileprivate init(format4 value: Int) {
        let digits = String(value)
        self = String(repeating: "0", count: 4 - digits.count) + digits
    }
}
