import BedrockAgentRuntime
import NIOCore

/// What an AgentCore container's answer means: the event mapping of the AgentCore Runtime backend.
///
/// A container's events are its own. The service reads the conventions of the AgentCore SDK and of
/// Strands: a JSON string is text; an object whose `data` is a string is text (Strands' callback
/// event; its raw model events, `event.contentBlockDelta`, carry the same text again and are
/// skipped, so nothing is counted twice); an object with `error` is the container's failure
/// (`error_type` beside it); an object with `current_tool_use` is a tool call, a trace; Strands'
/// `event.metadata.usage` is the model invocation's token usage. Any other object is skipped; data
/// that is not JSON is text.
extension AgentEvent {
    /// One Server-Sent Event's data.
    init(agentCoreEvent data: ByteBuffer) throws(StreamFailure) {
        let value: JSONValue
        do {
            value = try data.withUnsafeReadableBytes { bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) }
        } catch {
            self = .chunk(bytes: Array(data.readableBytesView), citations: nil)
            return
        }
        switch value {
        case .string(let text):
            self = .chunk(bytes: Array(text.utf8), citations: nil)
        case .object(let members):
            if let error = members["error"], error != .null {
                throw StreamFailure.agentError(error, type: members["error_type"])
            }
            if case .string(let text)? = members["data"] {
                self = .chunk(bytes: Array(text.utf8), citations: nil)
            } else if members["current_tool_use"] != nil {
                self = .trace(data)
            } else if let reported = members["event"]?["metadata"]?["usage"] {
                var usage = TokenUsage()
                usage.add(usage: reported)
                self = usage.isEmpty ? .unknown(eventType: "event") : .usage(usage)
            } else {
                self = .unknown(eventType: members.keys.sorted().first ?? "{}")
            }
        default:
            self = .unknown(eventType: "a JSON value that is not text")
        }
    }

    /// A whole `application/json` answer: its text by the rules of an event (also a `result`
    /// string), else the JSON itself as text, so that what the agent answered is shown.
    init(agentCoreAnswer body: ByteBuffer) throws(StreamFailure) {
        let document = try? body.withUnsafeReadableBytes { bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) }
        if case .object(let members)? = document, members["error"] == nil, members["data"]?.stringValue == nil,
            case .string(let result)? = members["result"]
        {
            self = .chunk(bytes: Array(result.utf8), citations: nil)
            return
        }
        switch try AgentEvent(agentCoreEvent: body) {
        case .chunk(let bytes, let citations): self = .chunk(bytes: bytes, citations: citations)
        default: self = .chunk(bytes: Array(body.readableBytesView), citations: nil)
        }
    }
}
