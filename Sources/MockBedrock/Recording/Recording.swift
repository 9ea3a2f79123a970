import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore

/// The answers recorded for one agent (or AgentCore Runtime), in the order they were recorded:
/// `recordings/agents/ID/recording.json` (or `recordings/runtimes/NAME/recording.json`) beside
/// each answer's body, `N.eventstream` for an InvokeAgent stream, `N.body` for anything else (an
/// AgentCore answer's SSE bytes, an error's JSON). `MockBedrock record` writes them; MockBedrock
/// replays them under the agent id (or runtime name) they were recorded for.
struct Recording: Codable, Sendable, Equatable {
    /// `InvokeAgent` or `InvokeAgentRuntime`.
    var operation: String
    var answers: [Answer]

    /// One recorded answer.
    struct Answer: Codable, Sendable, Equatable {
        /// The body's file, beside `recording.json`.
        var body: String
        /// The request's input text (InvokeAgent's `inputText`, a runtime payload's `prompt`, or the
        /// payload's compact JSON); a replay chooses among the answers recorded for its input.
        var input: String?
        /// The request that produced the answer.
        var request: RecordedRequest
        var status: Int
        /// The answer's headers that say what it is: its content type, its error type, Bedrock's
        /// session and memory ids.
        var headers: [String: String]
        /// When each piece of the body arrived, in milliseconds from the answer's head, and its
        /// length: an event-stream frame, a Server-Sent Event, or the whole of another body.
        var pieces: [Piece]
        /// How the upstream's answer ended: `finished`, or `dropped` (the connection closed mid-body).
        var ending: Ending = .finished
        /// Whether account ids, ARNs and the session id were replaced (`--redact`).
        var redacted: Bool
        /// When it was recorded (ISO 8601).
        var recordedAt: String
    }

    struct Piece: Codable, Sendable, Equatable {
        var atMs: Int
        var bytes: Int
    }

    enum Ending: String, Codable, Sendable {
        case finished
        case dropped
    }

    struct RecordedRequest: Codable, Sendable, Equatable {
        /// The path and query as the client sent them (for InvokeAgent, the agent, alias and session).
        var path: String
        /// The body, when JSON.
        var body: JSONValue?
    }

    static let fileName = "recording.json"

    /// What a runtime's answers are chosen by: the payload's `prompt` when it is text, else the
    /// payload as compact JSON with sorted keys.
    static func input(ofPayload payload: JSONValue) -> String {
        if case .string(let prompt)? = payload["prompt"] { return prompt }
        return String(buffer: ScenarioPlayer.json(payload))
    }
}

/// A recorded answer ready to replay: its status, headers and pieces with their times.
struct RecordedAnswer: Sendable {
    var answer: Recording.Answer
    /// The body cut into its recorded pieces.
    var pieces: [(atMs: Int, bytes: ByteBuffer)]

    /// Cuts `body` into the pieces `answer` names, which must add up to it.
    init(_ answer: Recording.Answer, body: ByteBuffer) throws(RecordingError) {
        var body = body
        var pieces: [(Int, ByteBuffer)] = []
        var previous = 0
        for piece in answer.pieces {
            guard piece.bytes >= 0, piece.atMs >= previous, let bytes = body.readSlice(length: piece.bytes) else {
                throw RecordingError("the pieces of \(answer.body) go back in time or add up to more than its bytes")
            }
            previous = piece.atMs
            pieces.append((piece.atMs, bytes))
        }
        guard body.readableBytes == 0 else {
            throw RecordingError("\(answer.body) has \(body.readableBytes) bytes after its last piece")
        }
        self.answer = answer
        self.pieces = pieces
    }

    /// The whole body.
    var body: ByteBuffer {
        var body = ByteBuffer()
        for piece in self.pieces {
            var bytes = piece.bytes
            body.writeBuffer(&bytes)
        }
        return body
    }
}

/// The answers of one recorded agent or runtime, and which to replay for a request.
struct RecordedAgent: Sendable {
    var answers: [RecordedAnswer]

    /// The answers recorded for `input`, else all of them: a replay of the same question gets its
    /// own answer, and any other question the answers in order.
    func candidates(for input: String?) -> (indices: [Int], matched: Bool) {
        let matching = self.answers.indices.filter { self.answers[$0].answer.input == input }
        return matching.isEmpty ? (Array(self.answers.indices), false) : (matching, true)
    }

    /// Reads `folder/recording.json` and the bodies it names; what is wrong is an error naming the
    /// file. The event-stream body of an answer that finished must decode cleanly (every frame
    /// whole, every CRC right); one whose upstream dropped the connection is replayed as it broke.
    static func load(from folder: URL, operation: String) throws -> RecordedAgent {
        let index = folder.appendingPathComponent(Recording.fileName)
        let recording: Recording
        do {
            recording = try JSONDecoder().decode(Recording.self, from: Data(contentsOf: index))
        } catch let error as DecodingError {
            throw FixtureError(file: index.path, reason: error.fixtureDescription)
        } catch {
            throw FixtureError(file: index.path, reason: error.localizedDescription)
        }
        guard recording.operation == operation else {
            throw FixtureError(file: index.path, reason: "records \(recording.operation), but this folder is for \(operation)")
        }
        guard !recording.answers.isEmpty else {
            throw FixtureError(file: index.path, reason: "records no answer")
        }
        var answers: [RecordedAnswer] = []
        for answer in recording.answers {
            let file = folder.appendingPathComponent(answer.body)
            guard answer.body == file.lastPathComponent, !answer.body.hasPrefix(".") else {
                throw FixtureError(file: index.path, reason: "names a body '\(answer.body)' outside its folder")
            }
            let body: ByteBuffer
            do {
                body = ByteBuffer(bytes: try Data(contentsOf: file))
            } catch {
                throw FixtureError(file: file.path, reason: error.localizedDescription)
            }
            if answer.body.hasSuffix(".eventstream"), answer.ending == .finished, let problem = EventStreamCheck.problem(in: body) {
                throw FixtureError(file: file.path, reason: "not a valid event stream: \(problem)")
            }
            do {
                answers.append(try RecordedAnswer(answer, body: body))
            } catch {
                throw FixtureError(file: index.path, reason: error.message)
            }
        }
        return RecordedAgent(answers: answers)
    }
}

/// A recording that cannot be used or written.
struct RecordingError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { self.message }
}

/// Whether bytes are a clean event stream: every frame whole, every CRC right.
enum EventStreamCheck {
    static func problem(in bytes: ByteBuffer) -> String? {
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        do {
            try processor.process(buffer: bytes) { _ in }
            try processor.finishProcessing(seenEOF: true) { _ in }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The frames of a clean event stream, each with its bytes; `nil` when it is not one.
    static func frames(of bytes: ByteBuffer) -> [(message: EventStreamMessage, bytes: ByteBuffer)]? {
        var frames: [(EventStreamMessage, ByteBuffer)] = []
        var rest = bytes
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        let collect: (EventStreamMessage) -> Void = { message in
            // A delivered frame's prelude was checked, so its length can be trusted.
            let length = Int(rest.getInteger(at: rest.readerIndex, as: UInt32.self) ?? 0)
            frames.append((message, rest.readSlice(length: length) ?? ByteBuffer()))
        }
        do {
            try processor.process(buffer: bytes, collect)
            try processor.finishProcessing(seenEOF: true, collect)
        } catch {
            return nil
        }
        return rest.readableBytes == 0 ? frames : nil
    }
}
