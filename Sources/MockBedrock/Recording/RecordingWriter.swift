import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore

/// Writes what `MockBedrock record` saw into the fixtures folder: each answer's body as a file,
/// cut into pieces (event-stream frames, Server-Sent Events, or the whole of another body) that
/// keep the time their last byte arrived, redacted with `--redact`, and listed in the agent's
/// `recording.json` after the answers recorded before.
actor RecordingWriter {
    /// What one call brought back, as the proxy saw it.
    struct Capture: Sendable {
        var operation: Operation
        /// The agent id, or the runtime name.
        var name: String
        var request: Recording.RecordedRequest
        var input: String?
        /// The session ids of the request (the path's, the runtime session header's).
        var sessions: [String]
        var status: Int
        var headers: [String: String]
        /// Each network read, with its time in milliseconds from the answer's head.
        var reads: [(atMs: Int, bytes: ByteBuffer)]
        var ending: Recording.Ending
    }

    enum Operation: String, Sendable {
        case invokeAgent = "InvokeAgent"
        case invokeAgentRuntime = "InvokeAgentRuntime"

        var folder: String {
            switch self {
            case .invokeAgent: "agents"
            case .invokeAgentRuntime: "runtimes"
            }
        }
    }

    let fixtures: URL
    let redacts: Bool

    init(fixtures: URL, redacts: Bool) {
        self.fixtures = fixtures
        self.redacts = redacts
    }

    /// Saves `capture` as the next answer of its agent; returns the summary line and the body file.
    func save(_ capture: Capture) throws -> (summary: String, file: URL) {
        let folder = self.fixtures.appendingPathComponent("recordings").appendingPathComponent(capture.operation.folder)
            .appendingPathComponent(capture.name)
        let index = folder.appendingPathComponent(Recording.fileName)
        var recording = Recording(operation: capture.operation.rawValue, answers: [])
        if FileManager.default.fileExists(atPath: index.path) {
            do {
                recording = try JSONDecoder().decode(Recording.self, from: Data(contentsOf: index))
            } catch {
                throw RecordingError("cannot add to \(index.path): \(error)")
            }
            guard recording.operation == capture.operation.rawValue else {
                throw RecordingError("\(index.path) records \(recording.operation), not \(capture.operation.rawValue)")
            }
        }
        var pieces = try Self.pieces(of: capture)
        var headers = capture.headers
        var request = capture.request
        var input = capture.input
        if self.redacts {
            let redactor = Redactor(
                // The path as sent holds a runtime's ARN percent-encoded.
                texts: [request.path, request.path.removingPercentEncoding ?? "", request.body.map { String(buffer: ScenarioPlayer.json($0)) } ?? ""]
                    + Array(headers.values)
                    + pieces.map { String(decoding: $0.bytes.readableBytesView, as: UTF8.self) } + Self.chunkTexts(pieces),
                sessions: capture.sessions
            )
            pieces = try pieces.map { piece in (piece.atMs, try Self.redact(piece.bytes, framed: Self.isEventStream(capture), with: redactor)) }
            headers = headers.mapValues(redactor.redact)
            request.path = redactor.redact(request.path)
            if let body = request.body {
                let text = redactor.redact(String(buffer: ScenarioPlayer.json(body)))
                request.body = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            }
            input = input.map(redactor.redact)
        }
        let number = recording.answers.count + 1
        let bodyName = Self.isEventStream(capture) ? "\(number).eventstream" : "\(number).body"
        var body = ByteBuffer()
        for piece in pieces {
            var bytes = piece.bytes
            body.writeBuffer(&bytes)
        }
        if Self.isEventStream(capture), capture.ending == .finished, let problem = EventStreamCheck.problem(in: body), self.redacts {
            throw RecordingError("the redacted answer is not a clean event stream: \(problem)")
        }
        let answer = Recording.Answer(
            body: bodyName,
            input: input,
            request: request,
            status: capture.status,
            headers: headers,
            pieces: pieces.map { Recording.Piece(atMs: $0.atMs, bytes: $0.bytes.readableBytes) },
            ending: capture.ending,
            redacted: self.redacts,
            recordedAt: ISO8601DateFormatter().string(from: Date())
        )
        recording.answers.append(answer)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent(bodyName)
            try Data(body.readableBytesView).write(to: file, options: .atomic)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(recording).write(to: index, options: .atomic)
            let replay = try RecordedAnswer(answer, body: body)
            let summary = RecordingSummary(replay, operation: capture.operation.rawValue).line(name: capture.name, number: number)
            return (summary + " -> " + file.path, file)
        } catch let error as RecordingError {
            throw error
        } catch {
            throw RecordingError("cannot write the recording in \(folder.path): \(error.localizedDescription)")
        }
    }

    private static func isEventStream(_ capture: Capture) -> Bool {
        capture.status == 200 && capture.operation == .invokeAgent
    }

    /// The body cut into the pieces a replay writes, each at the time of the read that completed it.
    static func pieces(of capture: Capture) throws -> [(atMs: Int, bytes: ByteBuffer)] {
        var body = ByteBuffer()
        var ends: [(end: Int, atMs: Int)] = []
        for read in capture.reads {
            var bytes = read.bytes
            body.writeBuffer(&bytes)
            ends.append((body.readableBytes, read.atMs))
        }
        // Pieces end in order, so the read that completed each is found walking forward once.
        var read = 0
        func time(ofByteEndingAt end: Int) -> Int {
            while read < ends.count - 1 && ends[read].end < end { read += 1 }
            return ends.isEmpty ? 0 : ends[read].atMs
        }
        var lengths: [Int]
        if Self.isEventStream(capture), let frames = EventStreamCheck.frames(of: body) {
            lengths = frames.map(\.bytes.readableBytes)
        } else if Self.isEventStream(capture) {
            // A broken event stream keeps the network's own pieces.
            lengths = capture.reads.map(\.bytes.readableBytes)
        } else if capture.headers["content-type"]?.hasPrefix("text/event-stream") == true {
            lengths = Self.eventLengths(body)
        } else {
            lengths = [body.readableBytes]
        }
        lengths.removeAll { $0 == 0 }
        var pieces: [(Int, ByteBuffer)] = []
        var offset = 0
        for length in lengths {
            offset += length
            pieces.append((time(ofByteEndingAt: offset), body.readSlice(length: length)!))
        }
        return pieces
    }

    /// The lengths of a Server-Sent Events body's events, each with the blank line that ends it;
    /// the rest (an unfinished event) last.
    static func eventLengths(_ body: ByteBuffer) -> [Int] {
        let bytes = Array(body.readableBytesView)
        var lengths: [Int] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            // A blank line: "\n\n", "\r\n\r\n" or "\r\r".
            var end: Int?
            if bytes[index] == 0x0A, index + 1 < bytes.count, bytes[index + 1] == 0x0A { end = index + 2 }
            if bytes[index] == 0x0D, index + 3 < bytes.count, bytes[index + 1] == 0x0A, bytes[index + 2] == 0x0D, bytes[index + 3] == 0x0A {
                end = index + 4
            }
            if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0D { end = index + 2 }
            if let end {
                lengths.append(end - start)
                start = end
                index = end
            } else {
                index += 1
            }
        }
        if start < bytes.count { lengths.append(bytes.count - start) }
        return lengths
    }

    /// The text of every chunk frame, whose ARNs name accounts too.
    private static func chunkTexts(_ pieces: [(atMs: Int, bytes: ByteBuffer)]) -> [String] {
        var texts: [String] = []
        for piece in pieces {
            guard let frames = EventStreamCheck.frames(of: piece.bytes) else { continue }
            for frame in frames where frame.message.eventType == "chunk" {
                if let (_, text) = Redactor.chunkText(frame.message.payload) { texts.append(text) }
            }
        }
        return texts
    }

    /// A piece redacted: an event-stream frame decoded, redacted and encoded again; other bytes
    /// redacted as text.
    private static func redact(_ bytes: ByteBuffer, framed: Bool, with redactor: Redactor) throws -> ByteBuffer {
        guard framed, let frames = EventStreamCheck.frames(of: bytes) else {
            if framed { throw RecordingError("an answer that is not a clean event stream cannot be redacted") }
            return redactor.redact(bytes: bytes)
        }
        var out = ByteBuffer()
        for frame in frames {
            var encoded = try redactor.redact(frame: frame.message)
            out.writeBuffer(&encoded)
        }
        return out
    }
}

/// What a recorded answer holds, in one line: its status, its frames by event type (or events,
/// or bytes), its size and how long it took.
struct RecordingSummary {
    var status: Int
    var counts: [(String, Int)]
    var bytes: Int
    var durationMs: Int
    var redacted: Bool
    var ending: Recording.Ending
    var errorType: String?

    init(_ answer: RecordedAnswer, operation: String) {
        self.status = answer.answer.status
        self.bytes = answer.pieces.reduce(0) { $0 + $1.bytes.readableBytes }
        self.durationMs = answer.pieces.last?.atMs ?? 0
        self.redacted = answer.answer.redacted
        self.ending = answer.answer.ending
        self.errorType = answer.answer.headers.first { $0.key.lowercased() == "x-amzn-errortype" }?.value
        var counts: [String: Int] = [:]
        if answer.answer.body.hasSuffix(".eventstream"), let frames = EventStreamCheck.frames(of: answer.body) {
            for frame in frames {
                let kind =
                    frame.message.eventType ?? frame.message[header: ":exception-type"]?.stringValue
                    ?? frame.message[header: ":error-code"]?.stringValue ?? "other"
                counts[kind, default: 0] += 1
            }
        } else if answer.answer.headers["content-type"]?.hasPrefix("text/event-stream") == true {
            counts["events"] = answer.pieces.count
        }
        self.counts = counts.sorted { $0.key < $1.key }
    }

    /// `InvokeAgent HELLO #1: 200, 12 frames (chunk 10, trace 2), 4,312 bytes in 1.82 s`.
    func line(name: String, number: Int) -> String {
        var line = "\(name) #\(number): \(self.status)"
        if let errorType { line += " \(errorType)" }
        let total = self.counts.reduce(0) { $0 + $1.1 }
        if !self.counts.isEmpty {
            let unit = self.counts.count == 1 && self.counts[0].0 == "events" ? "events" : "frames"
            let detail = unit == "events" ? "" : " (" + self.counts.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")"
            line += ", \(total) \(unit)\(detail)"
        }
        line += ", \(self.bytes) bytes in \(String(format: "%.2f", Double(self.durationMs) / 1000)) s"
        if self.ending == .dropped { line += ", connection dropped" }
        if self.redacted { line += ", redacted" }
        return line
    }
}
