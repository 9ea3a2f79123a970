import NIOCore

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The type byte that precedes each header value on the wire.
enum EventStreamWireType: UInt8 {
    case boolTrue = 0
    case boolFalse = 1
    case byte = 2
    case int16 = 3
    case int32 = 4
    case int64 = 5
    case byteArray = 6
    case string = 7
    case timestamp = 8
    case uuid = 9
}

// MARK: Reading

/// A cursor over the headers section of one frame, whose checksum has already been verified.
///
/// It reads from raw memory instead of slicing the `ByteBuffer` per field: a chunk event has three
/// headers, and per-field slices would cost reference counting on the hot path.
struct EventStreamHeaderReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Reads every header of the section, in order.
    static func readAll(from bytes: UnsafeRawBufferPointer) throws -> [EventStreamHeader] {
        var reader = EventStreamHeaderReader(bytes)
        var headers: [EventStreamHeader] = []
        headers.reserveCapacity(4)
        while reader.offset < bytes.count {
            headers.append(try reader.readHeader())
        }
        return headers
    }

    private mutating func readHeader() throws -> EventStreamHeader {
        let nameLength = Int(try self.read(UInt8.self, for: "a header name length"))
        guard nameLength > 0 else {
            throw EventStreamError(.emptyHeaderName, "header at offset \(self.offset - 1)")
        }
        let name = try self.readString(length: nameLength, for: "a header name")
        let typeByte = try self.read(UInt8.self, for: "the type of header '\(name)'")
        guard let type = EventStreamWireType(rawValue: typeByte) else {
            throw EventStreamError(.unknownHeaderType, "type \(typeByte) of header '\(name)'")
        }
        let value: EventStreamHeaderValue
        switch type {
        case .boolTrue: value = .bool(true)
        case .boolFalse: value = .bool(false)
        case .byte: value = .byte(try self.read(Int8.self, for: name))
        case .int16: value = .int16(try self.read(Int16.self, for: name))
        case .int32: value = .int32(try self.read(Int32.self, for: name))
        case .int64: value = .int64(try self.read(Int64.self, for: name))
        case .byteArray:
            let length = Int(try self.read(UInt16.self, for: name))
            value = .byteArray(Array(try self.take(length, for: name)))
        case .string:
            let length = Int(try self.read(UInt16.self, for: name))
            value = .string(try self.readString(length: length, for: "header '\(name)'"))
        case .timestamp: value = .timestamp(milliseconds: try self.read(Int64.self, for: name))
        case .uuid:
            let high = try self.read(UInt64.self, for: name)
            value = .uuid(UUIDBytes(high: high, low: try self.read(UInt64.self, for: name)))
        }
        return EventStreamHeader(name: name, value: value)
    }

    private mutating func take(_ count: Int, for field: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard count <= self.bytes.count - self.offset else {
            throw EventStreamError(
                .headerOverrun,
                "\(field()) needs \(count) bytes at offset \(self.offset), the headers end at \(self.bytes.count)"
            )
        }
        defer { self.offset += count }
        return UnsafeRawBufferPointer(rebasing: self.bytes[self.offset..<self.offset + count])
    }

    private mutating func read<Integer: FixedWidthInteger>(
        _: Integer.Type,
        for field: @autoclosure () -> String
    ) throws -> Integer {
        let raw = try self.take(MemoryLayout<Integer>.size, for: field())
        return Integer(bigEndian: raw.loadUnaligned(as: Integer.self))
    }

    private mutating func readString(length: Int, for field: @autoclosure () -> String) throws -> String {
        let raw = try self.take(length, for: field())
        if let known = Self.knownString(raw) {
            return known
        }
        // ASCII is valid UTF-8 and needs no further check; only other text takes the validating path.
        var ascii = true
        for byte in raw where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii {
            return String(decoding: raw, as: UTF8.self)
        }
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw EventStreamError(.invalidHeaderString, "\(field()) is not valid UTF-8")
        }
        return string
    }

    /// The names and values that every Bedrock frame repeats, returned as string literals (which
    /// need no allocation) instead of being decoded again for each frame.
    private static func knownString(_ raw: UnsafeRawBufferPointer) -> String? {
        func matches(_ literal: StaticString) -> Bool {
            memcmp(raw.baseAddress!, literal.utf8Start, raw.count) == 0
        }
        switch raw.count {
        case 5:
            if matches("event") { return "event" }
            if matches("chunk") { return "chunk" }
            if matches("trace") { return "trace" }
            if matches("error") { return "error" }
        case 9:
            if matches("exception") { return "exception" }
        case 11:
            if matches(":event-type") { return ":event-type" }
            if matches(":error-code") { return ":error-code" }
        case 13:
            if matches(":content-type") { return ":content-type" }
            if matches(":message-type") { return ":message-type" }
        case 14:
            if matches(":error-message") { return ":error-message" }
        case 15:
            if matches(":exception-type") { return ":exception-type" }
        case 16:
            if matches("application/json") { return "application/json" }
        default:
            break
        }
        return nil
    }
}

// MARK: Writing

extension EventStreamHeader {
    /// The bytes this header takes on the wire, after checking that the wire can express it.
    func encodedLength() throws -> Int {
        let nameLength = self.name.utf8.count
        guard nameLength > 0 else {
            throw EventStreamError(.emptyHeaderName, "cannot encode a header without a name")
        }
        guard nameLength <= Int(UInt8.max) else {
            throw EventStreamError(.headerNameTooLong, "header name of \(nameLength) bytes")
        }
        return 1 + nameLength + 1 + (try self.value.encodedLength(name: self.name))
    }

    /// Writes the header; ``encodedLength()`` must have accepted it and sized `writer` for it.
    func write(to writer: inout EventStreamHeaderWriter) {
        writer.write(UInt8(truncatingIfNeeded: self.name.utf8.count))
        writer.write(self.name)
        writer.write(self.value.wireType.rawValue)
        switch self.value {
        case .bool: break
        case .byte(let value): writer.write(value)
        case .int16(let value): writer.write(value)
        case .int32(let value): writer.write(value)
        case .int64(let value): writer.write(value)
        case .byteArray(let bytes):
            writer.write(UInt16(truncatingIfNeeded: bytes.count))
            bytes.withUnsafeBytes { writer.write($0) }
        case .string(let string):
            writer.write(UInt16(truncatingIfNeeded: string.utf8.count))
            writer.write(string)
        case .timestamp(let milliseconds): writer.write(milliseconds)
        case .uuid(let uuid):
            writer.write(uuid.high)
            writer.write(uuid.low)
        }
    }
}

/// Stores into memory already sized for a frame's prelude and headers, so that writing a header
/// costs plain stores rather than a capacity check and bounds bookkeeping per field.
struct EventStreamHeaderWriter {
    private let bytes: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func write<Integer: FixedWidthInteger>(_ value: Integer) {
        precondition(self.offset + MemoryLayout<Integer>.size <= self.bytes.count)
        self.bytes.storeBytes(of: value.bigEndian, toByteOffset: self.offset, as: Integer.self)
        self.offset += MemoryLayout<Integer>.size
    }

    mutating func write(_ raw: UnsafeRawBufferPointer) {
        precondition(self.offset + raw.count <= self.bytes.count)
        if let source = raw.baseAddress, raw.count > 0 {
            (self.bytes.baseAddress! + self.offset).copyMemory(from: source, byteCount: raw.count)
        }
        self.offset += raw.count
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { self.write(UnsafeRawBufferPointer($0)) }
    }
}

extension EventStreamHeaderValue {
    var wireType: EventStreamWireType {
        switch self {
        case .bool(let value): value ? .boolTrue : .boolFalse
        case .byte: .byte
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .byteArray: .byteArray
        case .string: .string
        case .timestamp: .timestamp
        case .uuid: .uuid
        }
    }

    /// Bytes after the type byte.
    fileprivate func encodedLength(name: String) throws -> Int {
        let variableLength: Int
        switch self {
        case .bool: return 0
        case .byte: return 1
        case .int16: return 2
        case .int32: return 4
        case .int64, .timestamp: return 8
        case .uuid: return 16
        case .byteArray(let bytes): variableLength = bytes.count
        case .string(let string): variableLength = string.utf8.count
        }
        guard variableLength <= Int(UInt16.max) else {
            throw EventStreamError(.headerValueTooLong, "value of header '\(name)' is \(variableLength) bytes")
        }
        return 2 + variableLength
    }
}
