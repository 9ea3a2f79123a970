import ArgumentParser
import EventStream
import Foundation
import NIOCore

/// `MockBedrock inspect FILE`: one JSON line per frame of an event-stream file (headers, and the
/// payload as JSON when it is, else base64), then a line for any error, such as a CRC failure. A
/// chunk's `bytes` are shown decoded too, as `chunk_text` (the base64 stays in `payload`).
///
/// Given a recording (a folder `MockBedrock record` wrote, or its `recording.json`): for each
/// answer a summary line, then a line per piece with the time it arrived (`at_ms`): an
/// event-stream frame as above, or another body's text.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print each frame of an event-stream file, or each answer and piece of a recording, as a JSON line."
    )

    @Argument(help: "An event-stream file (such as a recorded InvokeAgent body), or a recording's folder or recording.json.")
    var file: String

    func run() throws {
        var isFolder: ObjCBool = false
        let url = URL(fileURLWithPath: self.file)
        if FileManager.default.fileExists(atPath: self.file, isDirectory: &isFolder),
            isFolder.boolValue || url.lastPathComponent == Recording.fileName
        {
            let folder = isFolder.boolValue ? url : url.deletingLastPathComponent()
            do {
                for line in try Self.recordingReport(folder) { print(line) }
            } catch {
                FileHandle.standardError.write(Data("MockBedrock inspect: \(error)\n".utf8))
                throw ExitCode.failure
            }
            return
        }
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

    /// The lines for a recording's folder: each answer's summary, then its pieces.
    static func recordingReport(_ folder: URL) throws -> [String] {
        let index = folder.appendingPathComponent(Recording.fileName)
        let operation: String
        do {
            operation = try JSONDecoder().decode(Recording.self, from: Data(contentsOf: index)).operation
        } catch {
            throw RecordingError("cannot read \(index.path): \(error)")
        }
        let agent = try RecordedAgent.load(from: folder, operation: operation)
        var lines: [String] = []
        for (position, answer) in agent.answers.enumerated() {
            let summary = RecordingSummary(answer, operation: operation)
            var head: [String: Any] = [
                "answer": position + 1, "body": answer.answer.body, "status": answer.answer.status,
                "summary": "\(operation) " + summary.line(name: folder.lastPathComponent, number: position + 1),
                "recorded_at": answer.answer.recordedAt, "redacted": answer.answer.redacted,
            ]
            if let input = answer.answer.input { head["input"] = input }
            lines.append(Self.line(head))
            var offset = 0
            for piece in answer.pieces {
                if answer.answer.body.hasSuffix(".eventstream"), let frames = EventStreamCheck.frames(of: piece.bytes) {
                    for frame in frames {
                        var object = Self.object(frame.message, offset: offset)
                        object["at_ms"] = piece.atMs
                        lines.append(Self.line(object))
                        offset += frame.bytes.readableBytes
                    }
                } else {
                    lines.append(
                        Self.line(["offset": offset, "at_ms": piece.atMs, "text": String(decoding: piece.bytes.readableBytesView, as: UTF8.self)])
                    )
                    offset += piece.bytes.readableBytes
                }
            }
        }
        return lines
    }

    static func describe(_ message: EventStreamMessage, offset: Int) -> String {
        self.line(self.object(message, offset: offset))
    }

    private static func object(_ message: EventStreamMessage, offset: Int) -> [String: Any] {
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
        return object
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
