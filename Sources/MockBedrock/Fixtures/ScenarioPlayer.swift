import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore

/// Turns a scenario's steps into what the server does on the wire, one action at a time.
///
/// It applies the request's options as Bedrock does: traces only with `enableTrace`, and without
/// `streamFinalResponse` all chunks of the answer joined into one chunk where the last one was.
/// Frames produced with no pause between them are handed over together, one write each.
struct ScenarioPlayer {
    /// What the server does next.
    enum Action: Equatable {
        /// Write these bytes (one or more frames, or a deliberately broken one) and flush.
        case write(ByteBuffer)
        /// Wait before going on, until `milliseconds` after the previous wait was due (``StreamPacer``).
        case sleep(milliseconds: Int)
        /// End the response here, remembering that the session waits for the results of
        /// `invocationId`; a follow-up call resumes at step `resumeAt`.
        case pause(invocationId: String, resumeAt: Int)
        /// Close the connection without finishing the response.
        case dropConnection
        /// Finish the response normally.
        case finish
    }

    /// An hour: longer than any sensible client timeout.
    static let stallMilliseconds = 3_600_000

    private let steps: [Scenario.Step]
    var position: Int
    var stepCount: Int { self.steps.count }
    var actions = ActionQueue()
    private let sendsTraces: Bool
    /// Without `streamFinalResponse`, the whole answer of this segment and the step it goes out at.
    private let joinedChunk: (bytes: [UInt8], citations: [JSONValue]?, at: Int)?

    /// Plays `steps` from `start` for a request with these options.
    init(steps: [Scenario.Step], start: Int = 0, streamFinalResponse: Bool, enableTrace: Bool) {
        self.steps = steps
        self.position = start
        self.sendsTraces = enableTrace
        self.joinedChunk = streamFinalResponse ? nil : Self.joinChunks(of: steps, from: start)
    }

    mutating func play(at position: Int) {
        switch self.steps[position] {
        case .chunk(let bytes, let citations):
            if let joined = self.joinedChunk {
                if joined.at == position {
                    self.append(Self.chunkFrame(joined.bytes, citations: joined.citations))
                }
            } else {
                self.append(Self.chunkFrame(bytes, citations: citations))
            }
        case .trace(let trace):
            if self.sendsTraces {
                self.append(.event("trace", payload: Self.json(trace)))
            }
        case .returnControl(let invocationId, let inputs):
            let payload = InvokeAgentEvent.ReturnControl(invocationId: invocationId, invocationInputs: inputs)
            self.append(.event("returnControl", payload: Self.json(payload)))
            self.actions.end(with: .pause(invocationId: invocationId, resumeAt: position + 1))
        case .files(let files):
            self.append(.event("files", payload: Self.json(InvokeAgentEvent.Files(files: files))))
        case .exception(let exception, let message):
            let payload = Self.json(InvokeAgentEvent.ExceptionMessage(message: message))
            self.append(.exception(exception.eventName, payload: payload))
            self.actions.end(with: .finish)
        case .error(let code, let message):
            self.append(.error(code: code, message: message))
            self.actions.end(with: .finish)
        case .delay(let milliseconds):
            self.actions.pause(milliseconds: milliseconds)
        case .fault(.badChecksum):
            var frame = Self.encode(Self.chunkFrame(Array("corrupted".utf8), citations: nil))
            let last = frame.writerIndex - 1
            frame.setInteger(frame.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
            self.actions.pending.writeBuffer(&frame)
            self.actions.end(with: .finish)
        case .fault(.truncatedFrame):
            let frame = Self.encode(Self.chunkFrame(Array("truncated".utf8), citations: nil))
            var half = frame.getSlice(at: 0, length: frame.readableBytes / 2)!
            self.actions.pending.writeBuffer(&half)
            self.actions.end(with: .finish)
        case .fault(.dropConnection):
            self.actions.end(with: .dropConnection)
        case .fault(.stall):
            self.actions.pause(milliseconds: Self.stallMilliseconds)
        }
    }

    private mutating func append(_ message: EventStreamMessage) {
        do {
            try EventStreamEncoder().encode(message, into: &self.actions.pending)
        } catch {
            preconditionFailure("a scripted frame exceeds the event-stream limits: \(error)")
        }
    }

    private static func encode(_ message: EventStreamMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        try! EventStreamEncoder().encode(message, into: &buffer)
        return buffer
    }

    /// The answer text from `start` up to the step that ends the stream, and where the last chunk is.
    private static func joinChunks(of steps: [Scenario.Step], from start: Int) -> (bytes: [UInt8], citations: [JSONValue]?, at: Int)? {
        var bytes: [UInt8] = []
        var citations: [JSONValue]?
        var last: Int?
        loop: for position in steps.indices.dropFirst(start) {
            switch steps[position] {
            case .chunk(let chunk, let chunkCitations):
                bytes += chunk
                if let chunkCitations {
                    citations = (citations ?? []) + chunkCitations
                }
                last = position
            case .returnControl, .exception, .error, .fault:
                break loop
            case .trace, .files, .delay:
                continue
            }
        }
        return last.map { (bytes, citations, $0) }
    }

    /// A `chunk` event: `{"bytes": base64, "attribution": {"citations": [...]}}`. Without citations,
    /// the common case and the load agent's every frame, the JSON is written directly.
    static func chunkFrame(_ bytes: [UInt8], citations: [JSONValue]?) -> EventStreamMessage {
        let base64 = Data(bytes).base64EncodedString()
        guard let citations else {
            var payload = ByteBuffer()
            payload.writeStaticString(#"{"bytes":""#)
            payload.writeString(base64)
            payload.writeStaticString(#""}"#)
            return .event("chunk", payload: payload)
        }
        let chunk = InvokeAgentEvent.Chunk(bytes: base64, attribution: InvokeAgentEvent.Attribution(citations: citations))
        return .event("chunk", payload: self.json(chunk))
    }

    static func json(_ value: some Encodable) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONEncoder.sortedKeys.encode(value))
    }
}

extension ScenarioPlayer: StepPlayer {}
