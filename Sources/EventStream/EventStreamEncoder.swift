import NIOCore

/// Writes ``EventStreamMessage``s as byte-exact event-stream frames.
///
/// Headers are written in the order the message holds them, so a decoded message re-encodes to the
/// bytes it came from. Messages the format cannot carry (a name over 255 bytes, a frame over 16 MiB)
/// are refused with an ``EventStreamError`` before anything is written.
public struct EventStreamEncoder: Sendable {
    /// Creates an encoder; it holds no state.
    public init() {}

    /// Appends the frame for `message` to `buffer`.
    public func encode(_ message: EventStreamMessage, into buffer: inout ByteBuffer) throws {
        var headersLength = 0
        for header in message.headers {
            headersLength += try header.encodedLength()
        }
        let totalLength = EventStreamFrame.minimumLength + headersLength + message.payload.readableBytes
        // Validates both lengths against the limits the decoder enforces.
        _ = try EventStreamFrame.Prelude(totalLength: totalLength, headersLength: headersLength, checksum: 0)

        buffer.reserveCapacity(minimumWritableBytes: totalLength)
        let start = buffer.writerIndex
        var preludeChecksum: UInt32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: EventStreamFrame.preludeLength + headersLength) { bytes in
            var writer = EventStreamHeaderWriter(bytes)
            writer.write(UInt32(totalLength))
            writer.write(UInt32(headersLength))
            preludeChecksum = crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<8]))
            writer.write(preludeChecksum)
            for header in message.headers {
                header.write(to: &writer)
            }
            return writer.offset
        }
        buffer.writeImmutableBuffer(message.payload)
        let messageChecksum = buffer.crc32(
            at: start + 8,
            length: totalLength - 8 - EventStreamFrame.checksumLength,
            seed: preludeChecksum
        )
        buffer.writeInteger(messageChecksum)
    }

    /// Returns the frame for `message` in a new buffer.
    public func encode(_ message: EventStreamMessage) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try self.encode(message, into: &buffer)
        return buffer
    }
}
