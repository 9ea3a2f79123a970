import BedrockAgentCore
import FuzzDriver
import NIOCore

/// Runs libFuzzer over ``fuzzOne``.
@main
enum ServerSentEventFuzzer {
    static func main() {
        runLibFuzzer(fuzzOne)
    }
}

/// An AgentCore container's answer, as the service reads it. Besides crashes, hangs and memory
/// errors, which the sanitizers catch, traps when a property fails:
/// - the input cut at any point (the first byte chooses where), and cut into single bytes, gives
///   the same events and the same error as one piece: where the network splits an answer changes
///   nothing;
/// - no event is larger than the limit, and an event's data holds no line end but the `\n`s
///   that join its lines.
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    let whole = decode([input])
    let cut = count == 0 ? 0 : Int(input.getInteger(at: 0, as: UInt8.self)!) % count
    let halves = decode([input.getSlice(at: 0, length: cut)!, input.getSlice(at: cut, length: count - cut)!])
    precondition(whole == halves, "cut at \(cut) changed the result")
    if count <= 4_096 {
        let bytes = (0..<count).map { input.getSlice(at: $0, length: 1)! }
        precondition(whole == decode(bytes), "byte by byte changed the result")
    }
    for event in whole.events {
        precondition(event.count <= ServerSentEventDecoder.maximumEventBytes, "an event of \(event.count) bytes")
        precondition(!event.contains(UInt8(ascii: "\r")), "a carriage return inside an event's data")
    }
    return 0
}

struct Decoded: Equatable {
    var events: [[UInt8]]
    var failed: Bool
}

private func decode(_ pieces: [ByteBuffer]) -> Decoded {
    let processor = NIOSingleStepByteToMessageProcessor(ServerSentEventDecoder())
    var events: [[UInt8]] = []
    do {
        for piece in pieces {
            try processor.process(buffer: piece) { events.append(Array($0.readableBytesView)) }
        }
        try processor.finishProcessing(seenEOF: true) { events.append(Array($0.readableBytesView)) }
        return Decoded(events: events, failed: false)
    } catch {
        precondition(error is ServerSentEventDecoder.EventTooLarge, "the decoder threw \(type(of: error))")
        return Decoded(events: events, failed: true)
    }
}
