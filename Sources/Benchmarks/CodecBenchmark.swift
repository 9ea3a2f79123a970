import ArgumentParser
import CZlib
import EventStream
import NIOCore

/// Event-stream codec throughput on one core, beside zlib's raw CRC32 over the same bytes: every
/// byte of a frame must pass through CRC32, so that is the ceiling for decoding.
struct CodecBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Encode and decode throughput for small chunk events and 64 KiB frames."
    )

    @Option(help: "Seconds to spend on each measurement (the best of several rounds is kept).")
    var seconds: Double = 1

    @Option(help: "Run only the case whose name contains this text (for profiling).")
    var only: String?

    func run() throws {
        // A Bedrock chunk event as the service receives it: three string headers and a small JSON payload.
        let small = EventStreamMessage.event("chunk", payload: ByteBuffer(string: #"{"bytes":"SGVsbG8sIHdvcmxkIQ=="}"#))
        var largePayload = ByteBuffer()
        largePayload.writeBytes((0..<64 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let large = EventStreamMessage.event("chunk", payload: largePayload)

        print("Event-stream codec, one core, best of rounds of \(self.seconds) s")
        print(pad("case", 36) + pad("messages/s", 16) + pad("MB/s", 12) + "of CRC32 limit")
        let cases = [("small chunk event", small, 100_000), ("64 KiB frame", large, 400)]
        for (name, message, count) in cases where self.only.map(name.contains) ?? true {
            let frameLength = try EventStreamEncoder().encode(message).readableBytes
            var stream = ByteBuffer()
            for _ in 0..<count {
                try EventStreamEncoder().encode(message, into: &stream)
            }

            let crc = self.measure(bytes: stream.readableBytes, frames: count) {
                stream.withUnsafeReadableBytes { bytes in
                    var checked = 0
                    for offset in stride(from: 0, to: bytes.count, by: frameLength) {
                        let start = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self)
                        checked += crc32(0, start, uInt(frameLength)) == 1 ? 2 : 1
                    }
                    return checked
                }
            }
            let decode = try self.measure(bytes: stream.readableBytes, frames: count) {
                let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
                var decoded = 0
                var rest = stream
                // Network-sized reads: frames straddle the piece boundaries.
                while let piece = rest.readSlice(length: min(16 * 1024, rest.readableBytes)), piece.readableBytes > 0 {
                    try processor.process(buffer: piece) { decoded += $0.payload.readableBytes > 0 ? 1 : 0 }
                }
                try processor.finishProcessing(seenEOF: true) { _ in }
                precondition(decoded == count)
                return decoded
            }
            var output = ByteBuffer()
            output.reserveCapacity(stream.readableBytes)
            let encode = try self.measure(bytes: stream.readableBytes, frames: count) {
                output.clear()
                for _ in 0..<count {
                    try EventStreamEncoder().encode(message, into: &output)
                }
                return output.readableBytes
            }

            print("\(name) (\(frameLength) bytes a frame)")
            for (label, result) in [("  zlib crc32 over the frames", crc), ("  decode", decode), ("  encode", encode)] {
                let share = Int((result.megabytesPerSecond / crc.megabytesPerSecond * 100).rounded())
                print(
                    pad(label, 36) + pad(format(result.messagesPerSecond), 16)
                        + pad(format(result.megabytesPerSecond), 12) + "\(share)%"
                )
            }
        }
    }

    struct Result {
        var messagesPerSecond: Double
        var megabytesPerSecond: Double
    }

    /// Runs `body` (which handles `frames` frames totalling `bytes`) in rounds for about `seconds`.
    func measure(bytes: Int, frames: Int, _ body: () throws -> Int) rethrows -> Result {
        let elapsed = try fastestRound(seconds: self.seconds, body)
        return Result(messagesPerSecond: Double(frames) / elapsed, megabytesPerSecond: Double(bytes) / elapsed / 1e6)
    }
}

/// Runs `body` in rounds for about `seconds` and returns the fastest round's seconds: the round
/// least disturbed by the rest of the machine. `body` returns a value derived from its work, so
/// that the optimizer cannot drop the work.
func fastestRound(seconds: Double, _ body: () throws -> Int) rethrows -> Double {
    let clock = ContinuousClock()
    var best = Duration.seconds(1_000_000)
    var sink = 0
    let deadline = clock.now + .seconds(seconds)
    repeat {
        let start = clock.now
        sink &+= try body()
        best = min(best, clock.now - start)
    } while clock.now < deadline
    precondition(sink != 0)
    return Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double) -> String {
    switch value {
    case 1e6...: "\(Int((value / 1e5).rounded()) / 10).\(Int((value / 1e5).rounded()) % 10) M"
    case 1e3...: "\(Int((value / 1e2).rounded()) / 10).\(Int((value / 1e2).rounded()) % 10) k"
    default: "\(Int(value.rounded()))"
    }
}
