import EventStream
import FuzzDriver
import NIOCore

/// Runs libFuzzer over ``fuzzOne``.
@main
enum EventStreamFuzzer {
    static func main() {
        runLibFuzzer(fuzzOne)
    }
}

/// One fuzzing input, decoded twice: as raw stream bytes, and wrapped in a frame with correct
/// checksums so that mutations reach the header parser instead of stopping at a CRC check.
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    checkProperties(of: input)
    checkProperties(of: framed(input))
    return 0
}

/// Besides crashes, hangs and leaks, which the sanitizers catch, traps when either property fails:
/// - cutting the input at any point yields the same messages and the same error as one piece;
/// - every delivered message re-encodes to exactly the bytes it was decoded from.
func checkProperties(of input: ByteBuffer) {
    let count = input.readableBytes
    let whole = decode([input])
    let cut = count == 0 ? 0 : Int(input.getInteger(at: 0, as: UInt8.self)!) % count
    let pieces = decode([input.getSlice(at: 0, length: cut)!, input.getSlice(at: cut, length: count - cut)!])
    precondition(whole.messages == pieces.messages && whole.error == pieces.error, "cut at \(cut) changed the result")

    var reencoded = ByteBuffer()
    for message in whole.messages {
        try! EventStreamEncoder().encode(message, into: &reencoded)
    }
    precondition(reencoded == input.getSlice(at: 0, length: reencoded.readableBytes)!, "re-encoding differs")
}

private func decode(_ pieces: [ByteBuffer]) -> (messages: [EventStreamMessage], error: EventStreamError?) {
    let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
    var messages: [EventStreamMessage] = []
    do {
        for piece in pieces {
            try processor.process(buffer: piece) { messages.append($0) }
        }
        try processor.finishProcessing(seenEOF: true) { messages.append($0) }
        return (messages, nil)
    } catch {
        precondition(error is EventStreamError, "the decoder threw \(type(of: error))")
        return (messages, error as? EventStreamError)
    }
}

/// The input's bytes after the first two as headers and payload of one frame, the first two bytes
/// saying how many are headers, with valid lengths and checksums.
private func framed(_ input: ByteBuffer) -> ByteBuffer {
    var body = input
    let split = Int(body.readInteger(as: UInt16.self) ?? 0)
    let headersLength = min(split, body.readableBytes)
    var frame = ByteBuffer()
    frame.writeInteger(UInt32(16 + body.readableBytes))
    frame.writeInteger(UInt32(headersLength))
    frame.writeInteger(crc32(frame.readableBytesView))
    frame.writeBuffer(&body)
    frame.writeInteger(crc32(frame.readableBytesView))
    return frame
}

/// A plain bitwise CRC32 (IEEE), written independently of the codec's zlib call.
private func crc32(_ bytes: ByteBufferView) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1)))
        }
    }
    return ~crc
}
