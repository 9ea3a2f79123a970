import CZlib
import NIOCore

/// The fixed geometry of an event-stream frame:
///
///     [total length u32][headers length u32][prelude CRC u32][headers][payload][message CRC u32]
///
/// Both CRCs are CRC32 (IEEE, zlib's); the message CRC covers every byte before it, prelude included.
enum EventStreamFrame {
    /// Total length, headers length and the prelude's own checksum.
    static let preludeLength = 12
    /// The trailing message checksum.
    static let checksumLength = 4
    /// A frame with no headers and no payload.
    static let minimumLength = 16
    /// The largest frame the AWS SDKs accept.
    static let maximumLength = 16 * 1024 * 1024
    /// The largest headers section the AWS SDKs accept.
    static let maximumHeadersLength = 128 * 1024

    /// The validated first 12 bytes of a frame.
    struct Prelude: Hashable, Sendable {
        var totalLength: Int
        var headersLength: Int
        /// The prelude checksum, which seeds the message checksum so the prelude is hashed once.
        var checksum: UInt32

        /// Validates the prelude at the reader index of `buffer` without consuming it.
        ///
        /// Returns `nil` until 12 bytes are readable. The checksum is checked before any length is
        /// believed, so a corrupted length is reported as the checksum failure it is.
        init?(peekingAt buffer: ByteBuffer) throws {
            let start = buffer.readerIndex
            guard buffer.readableBytes >= Self.length,
                let total = buffer.getInteger(at: start, as: UInt32.self),
                let headers = buffer.getInteger(at: start + 4, as: UInt32.self),
                let expected = buffer.getInteger(at: start + 8, as: UInt32.self)
            else {
                return nil
            }
            let computed = buffer.crc32(at: start, length: 8)
            guard computed == expected else {
                throw EventStreamError(
                    .preludeChecksumMismatch,
                    "prelude CRC32 is \(hex(computed)), frame says \(hex(expected))"
                )
            }
            try self.init(totalLength: Int(total), headersLength: Int(headers), checksum: computed)
        }

        /// Checks the lengths against the format's limits.
        init(totalLength: Int, headersLength: Int, checksum: UInt32) throws {
            guard totalLength >= EventStreamFrame.minimumLength else {
                throw EventStreamError(.messageTooShort, "total length \(totalLength)")
            }
            guard totalLength <= EventStreamFrame.maximumLength else {
                throw EventStreamError(.messageTooLong, "total length \(totalLength)")
            }
            guard headersLength <= EventStreamFrame.maximumHeadersLength else {
                throw EventStreamError(.headersTooLong, "headers length \(headersLength)")
            }
            guard headersLength <= totalLength - EventStreamFrame.minimumLength else {
                throw EventStreamError(
                    .headersPastFrameEnd,
                    "headers length \(headersLength) in a frame of \(totalLength) bytes"
                )
            }
            self.totalLength = totalLength
            self.headersLength = headersLength
            self.checksum = checksum
        }

        static let length = EventStreamFrame.preludeLength

        var payloadLength: Int {
            self.totalLength - EventStreamFrame.minimumLength - self.headersLength
        }
    }
}

extension ByteBuffer {
    /// zlib's CRC32 of `length` bytes from absolute `index`, continuing from `seed`.
    func crc32(at index: Int, length: Int, seed: UInt32 = 0) -> UInt32 {
        precondition(index >= 0 && length >= 0 && index + length <= self.writerIndex)
        return self.withVeryUnsafeBytes { storage in
            EventStream.crc32(UnsafeRawBufferPointer(rebasing: storage[index..<index + length]), seed: seed)
        }
    }
}

/// zlib's CRC32 of `bytes`, continuing from `seed`.
func crc32(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
    return UInt32(CZlib.crc32(uLong(seed), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
