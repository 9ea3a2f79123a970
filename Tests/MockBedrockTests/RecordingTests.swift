import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat
import Testing

@testable import MockBedrock

/// `MockBedrock record`'s parts on their own: cutting an answer into pieces, redaction, choosing
/// and playing a recorded answer, and reading recordings back. The whole round trip (record
/// through a second MockBedrock, replay, compare) is `Tests/EndToEnd/test_recording.py`.
@Suite("Recordings")
struct RecordingTests {
    /// An event-stream frame of `type` with a JSON payload.
    static func frame(_ type: String, _ payload: String) throws -> ByteBuffer {
        try EventStreamEncoder().encode(
            EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":event-type", value: .string(type)),
                    EventStreamHeader(name: ":content-type", value: .string("application/json")),
                    EventStreamHeader(name: ":message-type", value: .string("event")),
                ],
                payload: ByteBuffer(string: payload)
            )
        )
    }

    static func chunk(_ text: String) throws -> ByteBuffer {
        try self.frame("chunk", #"{"bytes":"\#(Data(text.utf8).base64EncodedString())"}"#)
    }

    static func capture(
        _ reads: [(Int, ByteBuffer)],
        operation: RecordingWriter.Operation = .invokeAgent,
        status: Int = 200,
        contentType: String = "application/json",
        sessions: [String] = ["user-42-session"]
    ) -> RecordingWriter.Capture {
        RecordingWriter.Capture(
            operation: operation,
            name: "AGENT",
            request: .init(path: "/agents/AGENT/agentAliases/TSTALIASID/sessions/user-42-session/text", body: ["inputText": "Hi"]),
            input: "Hi",
            sessions: sessions,
            status: status,
            headers: ["content-type": contentType, "x-amz-bedrock-agent-session-id": "user-42-session"],
            reads: reads.map { (atMs: $0.0, bytes: $0.1) },
            ending: .finished
        )
    }

    /// An answer with `pieces` (time, length) and nothing else of note.
    static func answer(_ pieces: [(Int, Int)], input: String? = nil) -> Recording.Answer {
        Recording.Answer(
            body: "1.body",
            input: input,
            request: .init(path: "/", body: nil),
            status: 200,
            headers: [:],
            pieces: pieces.map { Recording.Piece(atMs: $0.0, bytes: $0.1) },
            redacted: false,
            recordedAt: ""
        )
    }

    @Test("an event stream is cut into its frames, each at the time of the read that completed it")
    func framesKeepTheirTimes() throws {
        var body = ByteBuffer()
        var frames = [try Self.chunk("Hello "), try Self.chunk("world"), try Self.frame("trace", #"{"trace":{}}"#)]
        let lengths = frames.map(\.readableBytes)
        for index in frames.indices { body.writeBuffer(&frames[index]) }
        // Three reads: one ending inside the second frame, one ending inside the third, the rest.
        let first = lengths[0] + 10
        let second = lengths[1] - 10 + 5
        let reads = [
            (5, body.getSlice(at: 0, length: first)!), (40, body.getSlice(at: first, length: second)!),
            (90, body.getSlice(at: first + second, length: body.readableBytes - first - second)!),
        ]
        let pieces = try RecordingWriter.pieces(of: Self.capture(reads))
        #expect(pieces.map(\.bytes.readableBytes) == lengths)
        #expect(pieces.map(\.atMs) == [5, 40, 90])
    }

    @Test("Server-Sent Events are cut after each blank line, of any line ending; an unfinished event is the last piece")
    func serverSentEvents() {
        let body = ByteBuffer(string: "data: a\n\ndata: b\r\n\r\n: comment\r\rdata: unfinished")
        #expect(RecordingWriter.eventLengths(body) == [9, 11, 11, 16])
    }

    @Test("a body that is neither is one piece, at its last read")
    func otherBodies() throws {
        let reads = [(3, ByteBuffer(string: #"{"result":"#)), (8, ByteBuffer(string: #""done"}"#))]
        let pieces = try RecordingWriter.pieces(of: Self.capture(reads, operation: .invokeAgentRuntime, contentType: "application/json"))
        #expect(pieces.count == 1 && pieces[0].atMs == 8 && pieces[0].bytes.readableBytes == 17)
    }

    @Test("redaction replaces every ARN's account, that account elsewhere, and the session, in chunk text too; the frames' CRCs are right")
    func redaction() throws {
        let trace = #"{"trace":{"agentAliasArn":"arn:aws:bedrock:us-east-1:503561449716:agent-alias/A/B","sessionId":"user-42-session"}}"#
        let chunkText = "Your account 503561449716 owns arn:aws:lambda:us-east-1:503561449716:function:f"
        let frames = [try Self.frame("trace", trace), try Self.chunk(chunkText)]
        let redactor = Redactor(texts: [trace, chunkText], sessions: ["user-42-session", "ab"])
        #expect(redactor.accounts == ["503561449716"])
        #expect(redactor.sessions == ["user-42-session"])
        var out = ByteBuffer()
        for frame in frames {
            let message = try #require(EventStreamCheck.frames(of: frame)?.first?.message)
            var redacted = try redactor.redact(frame: message)
            out.writeBuffer(&redacted)
        }
        #expect(EventStreamCheck.problem(in: out) == nil)
        let decoded = try #require(EventStreamCheck.frames(of: out))
        let traceText = String(buffer: decoded[0].message.payload)
        #expect(!traceText.contains("503561449716") && !traceText.contains("user-42-session"))
        #expect(traceText.contains("arn:aws:bedrock:us-east-1:000000000000:agent-alias/A/B") && traceText.contains(Redactor.sessionPlaceholder))
        let chunk = try JSONDecoder().decode([String: String].self, from: Data(buffer: decoded[1].message.payload))
        let text = String(decoding: try #require(Data(base64Encoded: chunk["bytes"] ?? "")), as: UTF8.self)
        #expect(text == "Your account 000000000000 owns arn:aws:lambda:us-east-1:000000000000:function:f")
    }

    @Test("a redacted recording is written with new piece lengths that still add up, and reads back")
    func redactedRecordingRoundTrip() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recording-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trace = #"{"trace":{"agentArn":"arn:aws:bedrock:us-east-1:503561449716:agent/AGENT","sessionId":"user-42-session"}}"#
        var body = try Self.frame("trace", trace)
        var chunk = try Self.chunk("Hello")
        body.writeBuffer(&chunk)
        let writer = RecordingWriter(fixtures: folder, redacts: true)
        let saved = try await writer.save(Self.capture([(12, body)]))
        #expect(saved.summary.contains("AGENT #1: 200, 2 frames (chunk 1, trace 1)") && saved.summary.contains("redacted"))
        let second = try await writer.save(Self.capture([(30, try Self.chunk("Again"))]))
        #expect(second.file.lastPathComponent == "2.eventstream")
        let agent = try RecordedAgent.load(from: folder.appendingPathComponent("recordings/agents/AGENT"), operation: "InvokeAgent")
        #expect(agent.answers.count == 2)
        let replayed = String(decoding: agent.answers[0].body.readableBytesView, as: UTF8.self)
        #expect(!replayed.contains("503561449716") && !replayed.contains("user-42-session"))
        #expect(agent.answers[0].answer.headers["x-amz-bedrock-agent-session-id"] == Redactor.sessionPlaceholder)
        #expect(!agent.answers[0].answer.request.path.contains("user-42-session"))
        #expect(agent.answers[0].pieces.map(\.atMs) == [12, 12])
    }

    @Test("a replay paces pieces as recorded, writes those due together at once, and drops the connection where the upstream did")
    func playerPacing() throws {
        var answer = Self.answer([(0, 1), (50, 1), (50, 1), (120, 1)])
        let paced = try RecordedAnswer(answer, body: ByteBuffer(string: "abcd"))
        var player = RecordedPlayer(paced, paced: true)
        var actions: [ScenarioPlayer.Action] = []
        while actions.last != .finish { actions.append(player.next()) }
        #expect(
            actions == [
                .write(ByteBuffer(string: "a")), .sleep(milliseconds: 50), .write(ByteBuffer(string: "bc")), .sleep(milliseconds: 70),
                .write(ByteBuffer(string: "d")), .finish,
            ]
        )
        var fast = RecordedPlayer(paced, paced: false)
        #expect(fast.next() == .write(ByteBuffer(string: "abcd")) && fast.next() == .finish)
        answer.ending = .dropped
        var dropped = RecordedPlayer(try RecordedAnswer(answer, body: ByteBuffer(string: "abcd")), paced: false)
        _ = dropped.next()
        #expect(dropped.next() == .dropConnection)
    }

    @Test("pieces that do not add up to the body are refused")
    func piecesMustAddUp() {
        let answer = Self.answer([(0, 3)])
        #expect(throws: RecordingError.self) { try RecordedAnswer(answer, body: ByteBuffer(string: "ab")) }
        #expect(throws: RecordingError.self) { try RecordedAnswer(answer, body: ByteBuffer(string: "abcd")) }
    }

    @Test("answers are chosen by the request's input, else all in order")
    func candidates() throws {
        func answer(_ input: String?) throws -> RecordedAnswer {
            try RecordedAnswer(Self.answer([], input: input), body: ByteBuffer())
        }
        let agent = RecordedAgent(answers: [try answer("a"), try answer("b"), try answer("a"), try answer(nil)])
        #expect(agent.candidates(for: "a") == ([0, 2], true))
        #expect(agent.candidates(for: nil) == ([3], true))
        #expect(agent.candidates(for: "unknown") == ([0, 1, 2, 3], false))
    }
}
