import NIOCore

/// One message of an AWS event stream (`application/vnd.amazon.eventstream`): ordered headers and an
/// opaque payload.
///
/// Header order is kept because the wire format is ordered and re-encoding a decoded message must
/// reproduce its bytes exactly. Duplicate names are allowed on the wire; lookups return the first.
public struct EventStreamMessage: Hashable, Sendable {
    /// The headers, in wire order.
    public var headers: [EventStreamHeader]
    /// The payload bytes; a decoded message's payload is a slice of the received bytes, not a copy.
    public var payload: ByteBuffer

    /// Creates a message from headers in wire order and a payload.
    public init(headers: [EventStreamHeader] = [], payload: ByteBuffer = ByteBuffer()) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the first header called `name`, if any.
    public subscript(header name: String) -> EventStreamHeaderValue? {
        for header in self.headers where header.name == name {
            return header.value
        }
        return nil
    }
}

/// A named, typed header of an ``EventStreamMessage``.
public struct EventStreamHeader: Hashable, Sendable {
    /// The header name: 1 to 255 bytes of UTF-8.
    public var name: String
    /// The typed value.
    public var value: EventStreamHeaderValue

    /// Creates a header.
    public init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}

/// A header value in one of the event-stream wire types.
///
/// The wire has ten types; `true` and `false` are two of them, carried here as ``bool(_:)``.
public enum EventStreamHeaderValue: Hashable, Sendable {
    /// Wire types 0 (true) and 1 (false): no value bytes.
    case bool(Bool)
    /// Wire type 2: one signed byte.
    case byte(Int8)
    /// Wire type 3: big-endian 16-bit integer.
    case int16(Int16)
    /// Wire type 4: big-endian 32-bit integer.
    case int32(Int32)
    /// Wire type 5: big-endian 64-bit integer.
    case int64(Int64)
    /// Wire type 6: up to 65,535 raw bytes.
    case byteArray([UInt8])
    /// Wire type 7: up to 65,535 bytes of UTF-8.
    case string(String)
    /// Wire type 8: milliseconds since the Unix epoch, kept as an integer so re-encoding is exact.
    case timestamp(milliseconds: Int64)
    /// Wire type 9: 16 bytes.
    case uuid(UUIDBytes)

    /// The string, when this is a string value.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// The 16 bytes of a UUID header, in wire order.
///
/// A plain value type rather than Foundation's `UUID` so that the codec depends on nothing but NIO
/// and zlib; ``description`` gives the canonical hyphenated form.
public struct UUIDBytes: Hashable, Sendable, CustomStringConvertible {
    /// The first eight bytes, big-endian.
    public var high: UInt64
    /// The last eight bytes, big-endian.
    public var low: UInt64

    /// Creates a UUID from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 16 bytes in wire order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: self.high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: self.low >> (56 - 8 * $0)) }
    }

    /// The canonical lowercase 8-4-4-4-12 form.
    public var description: String {
        let hex = self.bytes.map { byte -> String in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }
}
