import NIOCore

/// An incremental event-stream decoder: feed it bytes in pieces of any size and it hands over each
/// message as soon as the frame's last byte has arrived.
///
/// It validates a frame's prelude once, as soon as its 12 bytes are there, and remembers it, so a
/// frame arriving one byte at a time is checked in linear time and an oversized length is refused
/// before its bytes are buffered. A frame is delivered only after its message checksum matches.
/// After an error the framing is lost: every later call throws the same error.
///
/// Use it with `AsyncSequence.decode(using:)` over a sequence of `ByteBuffer`s, or drive it through
/// `NIOSingleStepByteToMessageProcessor`. All errors are ``EventStreamError``s.
public struct EventStreamDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = EventStreamMessage

    private enum State {
        case awaitingPrelude
        case awaitingFrame(EventStreamFrame.Prelude)
        case failed(EventStreamError)
    }

    private var state: State = .awaitingPrelude

    /// Creates a decoder positioned at the start of a frame.
    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> EventStreamMessage? {
        do {
            return try self.decodeFrame(from: &buffer)
        } catch let error as EventStreamError {
            self.state = .failed(error)
            throw error
        }
    }

    /// Like ``decode(buffer:)``, and then bytes left over mean the stream ended inside a frame.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> EventStreamMessage? {
        if let message = try self.decode(buffer: &buffer) {
            return message
        }
        guard buffer.readableBytes == 0 else {
            let expected: String
            switch self.state {
            case .awaitingFrame(let prelude): expected = "a frame of \(prelude.totalLength) bytes"
            case .awaitingPrelude, .failed: expected = "a \(EventStreamFrame.preludeLength)-byte prelude"
            }
            let error = EventStreamError(
                .truncatedFrame,
                "the stream ended after \(buffer.readableBytes) bytes of \(expected)"
            )
            self.state = .failed(error)
            throw error
        }
        return nil
    }

    private mutating func decodeFrame(from buffer: inout ByteBuffer) throws -> EventStreamMessage? {
        let prelude: EventStreamFrame.Prelude
        switch self.state {
        case .failed(let error):
            throw error
        case .awaitingFrame(let known):
            prelude = known
        case .awaitingPrelude:
            guard let validated = try EventStreamFrame.Prelude(peekingAt: buffer) else {
                return nil
            }
            prelude = validated
            self.state = .awaitingFrame(prelude)
        }
        guard buffer.readableBytes >= prelude.totalLength else {
            return nil
        }
        let frame = buffer.readSlice(length: prelude.totalLength)!
        self.state = .awaitingPrelude
        return try EventStreamMessage(frame: frame, prelude: prelude)
    }
}

extension EventStreamMessage {
    /// Parses one complete frame whose prelude has been validated, after checking its checksum.
    init(frame: ByteBuffer, prelude: EventStreamFrame.Prelude) throws {
        let start = frame.readerIndex
        let checksumIndex = start + prelude.totalLength - EventStreamFrame.checksumLength
        let computed = frame.crc32(at: start + 8, length: checksumIndex - start - 8, seed: prelude.checksum)
        let expected = frame.getInteger(at: checksumIndex, as: UInt32.self)!
        guard computed == expected else {
            throw EventStreamError(
                .messageChecksumMismatch,
                "message CRC32 is \(hex(computed)), frame says \(hex(expected))"
            )
        }
        let headersStart = start + EventStreamFrame.preludeLength
        let headers = try frame.withUnsafeReadableBytes { bytes in
            try EventStreamHeaderReader.readAll(
                from: UnsafeRawBufferPointer(
                    rebasing: bytes[EventStreamFrame.preludeLength..<EventStreamFrame.preludeLength + prelude.headersLength]
                )
            )
        }
        self.init(
            headers: headers,
            payload: frame.getSlice(at: headersStart + prelude.headersLength, length: prelude.payloadLength)!
        )
    }
}
