import ArgumentParser
import EventStream
import Foundation
import NIOCore

/// `MockBedrock inspect FILE`: one JSON line per frame of an event-stream file (headers, and the
/// payload as JSON when it is, else base64), then a line for any error, such as a CRC failure. A
/// chunk's `bytes` are shown decoded too, as `chunk_text` (the base64 stays in `payload`).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print each frame of an event-stream file as a JSON line.")

    @Argument(help: "The event-stream file, e.g. a recorded InvokeAgent response body.")
    var file: String

    func run() throws {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: self.file))
        } catch {
            // The arguments were right, so no usage text: only what went wrong.
            FileHandle.standardError.write(Data("MockBedrock inspect: cannot read \(self.file): \(error.localizedDescription)\n".utf8))
            throw ExitCode.failure
        }
        let report = Self.report(ByteBuffer(bytes: bytes))
        for line in report.lines {
            print(line)
        }
        if !report.isClean {
            throw ExitCode.failure
        }
    }

    /// The lines for `bytes`: one per frame, and a last one naming the error if decoding fails.
    static func report(_ bytes: ByteBuffer) -> (lines: [String], isClean: Bool) {
        var lines: [String] = []
        var offset = 0
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        let collect: (EventStreamMessage) -> Void = { message in
            lines.append(Self.describe(message, offset: offset))
            // A delivered frame's prelude has been checked, so its total length can be trusted.
            offset += Int(bytes.getInteger(at: bytes.readerIndex + offset, as: UInt32.self) ?? 0)
        }
        do {
            try processor.process(buffer: bytes, collect)
            try processor.finishProcessing(seenEOF: true, collect)
            return (lines, true)
        } catch let error as EventStreamError {
            lines.append(Self.line(["offset": offset, "error": error.code.description, "detail": error.detail]))
        } catch {
            lines.append(Self.line(["offset": offset, "error": "\(error)"]))
        }
        return (lines, false)
    }

    static func describe(_ message: EventStreamMessage, offset: Int) -> String {
        var headers: [[String: Any]] = []
        for header in message.headers {
            headers.append(["name": header.name, "value": self.value(header.value)])
        }
        var object: [String: Any] = ["offset": offset, "headers": headers]
        let payload = Data(message.payload.readableBytesView)
        if let json = try? JSONSerialization.jsonObject(with: payload, options: [.fragmentsAllowed]) {
            object["payload"] = json
            // Chunk bytes are UTF-8 text; one chunk may end inside a character (shown as U+FFFD).
            if message.eventType == "chunk", let base64 = (json as? [String: Any])?["bytes"] as? String,
                let bytes = Data(base64Encoded: base64)
            {
                object["chunk_text"] = String(decoding: bytes, as: UTF8.self)
            }
        } else {
            object["payload_base64"] = payload.base64EncodedString()
        }
        return self.line(object)
    }

    private static func value(_ value: EventStreamHeaderValue) -> Any {
        switch value {
        case .bool(let value): value
        case .byte(let value): Int(value)
        case .int16(let value): Int(value)
        case .int32(let value): Int(value)
        case .int64(let value): value
        case .byteArray(let bytes): ["base64": Data(bytes).base64EncodedString()]
        case .string(let value): value
        case .timestamp(let milliseconds): ["timestamp_ms": milliseconds]
        case .uuid(let uuid): ["uuid": uuid.description]
        }
    }

    private static func line(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
