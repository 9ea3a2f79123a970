import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Plays a recorded answer: its status and headers, then its pieces at the times they arrived
/// (or at once, with `--full-speed`), and its ending (a dropped connection is dropped again).
struct RecordedPlayer: ScriptPlayer {
    private let pieces: [(atMs: Int, bytes: ByteBuffer)]
    private let paced: Bool
    private let ending: Recording.Ending
    private var index = 0
    /// The time of the last pause's end, in the recording's milliseconds.
    private var clock = 0

    init(_ answer: RecordedAnswer, paced: Bool) {
        self.pieces = answer.pieces
        self.paced = paced
        self.ending = answer.answer.ending
    }

    mutating func next() -> ScenarioPlayer.Action {
        guard self.index < self.pieces.count else {
            return self.ending == .dropped ? .dropConnection : .finish
        }
        let due = self.pieces[self.index].atMs
        if self.paced, due > self.clock {
            defer { self.clock = due }
            return .sleep(milliseconds: due - self.clock)
        }
        // Every piece due by now, in one write, as they arrived together.
        var write = ByteBuffer()
        while self.index < self.pieces.count, !self.paced || self.pieces[self.index].atMs <= self.clock {
            var bytes = self.pieces[self.index].bytes
            write.writeBuffer(&bytes)
            self.index += 1
        }
        return .write(write)
    }
}

/// A request answered from a recording: which answer, and the response that replays it.
struct RecordedReplay: Sendable {
    let state: MockState
    /// Whether pieces keep their recorded times (`--full-speed` turns it off).
    let paced: Bool

    /// The response for a request with `input` to the recorded agent or runtime `key`: among the
    /// answers recorded for that input (else all), the next in order, round and round.
    /// `sessionHeader` is set to the request's session, as the upstream echoes it.
    func response(
        _ agent: RecordedAgent,
        key: String,
        input: String?,
        requestId: String,
        sessionHeader: (name: String, value: String)?,
        context: MockRequestContext
    ) -> Response {
        let (candidates, matched) = agent.candidates(for: input)
        // One count per recorded input, and one for all the others: as many counts as answers.
        let turn = self.state.nextTurn(of: "recorded \(key) " + (matched ? "input " + (input.map { "'\($0)'" } ?? "none") : "other"))
        let answer = agent.answers[candidates[turn % candidates.count]]
        var headers = HTTPFields()
        for (name, value) in answer.answer.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        headers[HTTPField.Name("x-amzn-RequestId")!] = requestId
        if let sessionHeader, let name = HTTPField.Name(sessionHeader.name), headers[name] != nil {
            headers[name] = sessionHeader.value
        }
        guard answer.answer.status == 200 else {
            return Response(status: HTTPResponse.Status(code: answer.answer.status), headers: headers, body: ResponseBody(byteBuffer: answer.body))
        }
        return ScriptedResponse.play(
            RecordedPlayer(answer, paced: self.paced),
            headers: headers,
            state: self.state,
            context: context,
            subject: ["recording": "\(key)"]
        )
    }
}
