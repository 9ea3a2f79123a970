import BedrockAgentRuntime
import NIOCore

/// Turns a ``RuntimeScenario``'s steps into the bytes of the answer: `data: <JSON>` and a blank
/// line for each `data` step, `body` steps as they are, written together until a pause.
struct RuntimePlayer: StepPlayer {
    private let steps: [RuntimeScenario.Step]
    var position = 0
    var stepCount: Int { self.steps.count }
    var actions = ActionQueue()

    init(steps: [RuntimeScenario.Step]) {
        self.steps = steps
    }

    /// One server-sent event carrying `value`, as the AgentCore SDK writes what a handler yields.
    static func event(_ value: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString("data: ")
        var json = ScenarioPlayer.json(value)
        buffer.writeBuffer(&json)
        buffer.writeStaticString("\n\n")
        return buffer
    }

    mutating func play(at position: Int) {
        switch self.steps[position] {
        case .data(let value):
            var event = Self.event(value)
            self.actions.pending.writeBuffer(&event)
        case .body(let text):
            self.actions.pending.writeString(text)
        case .delay(let milliseconds):
            self.actions.pause(milliseconds: milliseconds)
        case .fault(.dropConnection):
            self.actions.end(with: .dropConnection)
        case .fault:
            self.actions.pause(milliseconds: ScenarioPlayer.stallMilliseconds)
        }
    }
}
