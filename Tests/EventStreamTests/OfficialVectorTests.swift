import Foundation
import NIOCore
import Testing

@testable import EventStream

/// The AWS SDK for Go's event-stream vectors: every positive decodes to exactly the expected
/// fields and re-encodes to the same bytes; every negative fails with the error its text names.
@Suite("Official event-stream vectors")
struct OfficialVectorTests {
    struct ExpectedMessage: Decodable {
        struct Header: Decodable {
            var name: String
            var type: UInt8
            var value: Value
        }

        enum Value: Decodable {
            case bool(Bool)
            case number(Int64)
            case base64(String)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let bool = try? container.decode(Bool.self) {
                    self = .bool(bool)
                } else if let number = try? container.decode(Int64.self) {
                    self = .number(number)
                } else {
                    self = .base64(try container.decode(String.self))
                }
            }
        }

        var total_length: Int
        var headers_length: Int
        var prelude_crc: Int32
        var headers: [Header]
        var payload: String
        var message_crc: Int32
    }

    static let positives = (try? TestData.names(in: TestData.vectors.appendingPathComponent("encoded/positive"))) ?? []
    static let negatives = (try? TestData.names(in: TestData.vectors.appendingPathComponent("encoded/negative"))) ?? []

    @Test("the suite is all there")
    func suiteIsComplete() {
        #expect(Self.positives == ["all_headers", "empty_message", "int32_header", "payload_no_headers", "payload_one_str_header"])
        #expect(Self.negatives == ["corrupted_header_len", "corrupted_headers", "corrupted_length", "corrupted_payload"])
    }

    @Test("positive vector decodes exactly and re-encodes byte for byte", arguments: positives)
    func positive(name: String) throws {
        let encoded = try TestData.bytes(TestData.vectors.appendingPathComponent("encoded/positive/\(name)"))
        let json = try Data(contentsOf: TestData.vectors.appendingPathComponent("decoded/positive/\(name)"))
        let expected = try JSONDecoder().decode(ExpectedMessage.self, from: json)

        let messages = try decodeAll([encoded])
        let message = try #require(messages.count == 1 ? messages[0] : nil)

        #expect(encoded.readableBytes == expected.total_length)
        #expect(encoded.getInteger(at: 4, as: UInt32.self) == UInt32(expected.headers_length))
        #expect(encoded.getInteger(at: 8, as: UInt32.self) == UInt32(bitPattern: expected.prelude_crc))
        #expect(encoded.getInteger(at: expected.total_length - 4, as: UInt32.self) == UInt32(bitPattern: expected.message_crc))
        #expect(message.headers.map(\.name) == expected.headers.map(\.name))
        for (header, want) in zip(message.headers, expected.headers) {
            #expect(header.value.wireType.rawValue == want.type, "wire type of \(want.name)")
            #expect(header.value == Self.value(of: want), "value of \(want.name)")
        }
        #expect(Array(message.payload.readableBytesView) == [UInt8](Data(base64Encoded: expected.payload)!))

        let reencoded = try EventStreamEncoder().encode(message)
        #expect(reencoded == encoded)
    }

    @Test("negative vector is rejected with the error it names", arguments: negatives)
    func negative(name: String) throws {
        let encoded = try TestData.bytes(TestData.vectors.appendingPathComponent("encoded/negative/\(name)"))
        let text = try String(contentsOf: TestData.vectors.appendingPathComponent("decoded/negative/\(name)"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let codes: [String: EventStreamError.Code] = [
            "Prelude checksum mismatch": .preludeChecksumMismatch,
            "Message checksum mismatch": .messageChecksumMismatch,
        ]
        let expectedCode = try #require(codes[text], "unexpected vector text \(text)")
        let error = try #require(decodingError([encoded]))
        #expect(error.code == expectedCode)
        #expect(error.code.description == text)
    }

    private static func value(of header: ExpectedMessage.Header) -> EventStreamHeaderValue? {
        switch (header.type, header.value) {
        case (0, .bool(true)): return .bool(true)
        case (1, .bool(false)): return .bool(false)
        case (2, .number(let n)): return .byte(Int8(n))
        case (3, .number(let n)): return .int16(Int16(n))
        case (4, .number(let n)): return .int32(Int32(n))
        case (5, .number(let n)): return .int64(n)
        case (6, .base64(let b)): return .byteArray([UInt8](Data(base64Encoded: b)!))
        case (7, .base64(let b)): return .string(String(decoding: Data(base64Encoded: b)!, as: UTF8.self))
        case (8, .number(let n)): return .timestamp(milliseconds: n)
        case (9, .base64(let b)):
            let bytes = [UInt8](Data(base64Encoded: b)!)
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return .uuid(UUIDBytes(high: high, low: low))
        default: return nil
        }
    }
}
