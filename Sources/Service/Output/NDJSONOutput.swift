import BedrockAgentRuntime
import Foundation
import NIOCore

/// The original API's contract: one JSON object per event, framed as NDJSON
/// (`application/x-ndjson`, one object a line, ending in `\n`) or as Server-Sent Events
/// (`text/event-stream`: `event: <type>`, `data: <the same object>`, a blank line; and `: ping`
/// comments while the stream is quiet).
///
/// Every object has `type`, then its own fields, then `done` and `timestamp`. Text arrives here
/// already JSON-escaped (see ``JSONText``), so the growing `accumulated_content` is copied, not
/// escaped again, for each chunk.
struct NDJSONOutput: StreamOutput {
    /// How each object is framed.
    enum Framing: String, Sendable {
        /// One object a line.
        case lines = "ndjson"
        /// One Server-Sent Event an object, its `event` field the object's `type`.
        case serverSentEvents = "sse"
    }

    var framing = Framing.lines

    var contentType: String {
        switch self.framing {
        case .lines: "application/x-ndjson"
        case .serverSentEvents: "text/event-stream"
        }
    }

    var formatName: String { self.framing.rawValue }

    /// An SSE comment, which `EventSource` and SSE parsers ignore, to keep proxies from closing a
    /// quiet connection. NDJSON has no such thing: nothing is written.
    func heartbeat(into buffer: inout ByteBuffer) {
        if self.framing == .serverSentEvents {
            buffer.writeStaticString(": ping\n\n")
        }
    }

    /// The event's frame before its object.
    private func begin(_ type: StaticString, into buffer: inout ByteBuffer) {
        guard self.framing == .serverSentEvents else { return }
        buffer.writeStaticString("event: ")
        buffer.writeStaticString(type)
        buffer.writeStaticString("\ndata: ")
    }

    /// `{"type":"start","session_id","agent_id","agent_alias_id","request_id",…}`
    func start(target: InvokeAgentTarget, requestId: String, into buffer: inout ByteBuffer) {
        self.begin("start", into: &buffer)
        buffer.writeStaticString(#"{"type":"start","session_id":"#)
        JSONText.writeString(target.sessionId, to: &buffer)
        buffer.writeStaticString(#","agent_id":"#)
        JSONText.writeString(target.agentId, to: &buffer)
        buffer.writeStaticString(#","agent_alias_id":"#)
        JSONText.writeString(target.agentAliasId, to: &buffer)
        buffer.writeStaticString(#","request_id":"#)
        JSONText.writeString(requestId, to: &buffer)
        self.end(done: false, into: &buffer)
    }

    /// `{"type":"chunk","content","accumulated_content","citations"?,…}`
    func chunk(
        escapedContent: UnsafeRawBufferPointer,
        escapedAccumulated: ByteBuffer,
        citations: [JSONValue]?,
        into buffer: inout ByteBuffer
    ) {
        self.begin("chunk", into: &buffer)
        buffer.writeStaticString(#"{"type":"chunk","content":""#)
        buffer.writeBytes(escapedContent)
        buffer.writeStaticString(#"","accumulated_content":""#)
        buffer.writeImmutableBuffer(escapedAccumulated)
        buffer.writeStaticString("\"")
        if let citations {
            buffer.writeStaticString(#","citations":"#)
            Self.writeJSON(citations, to: &buffer)
        }
        self.end(done: false, into: &buffer)
    }

    /// `{"type":"trace","trace":<Bedrock's trace event, as sent>,…}`; `trace` must be valid JSON.
    func trace(_ trace: ByteBuffer, into buffer: inout ByteBuffer) {
        self.begin("trace", into: &buffer)
        buffer.writeStaticString(#"{"type":"trace","trace":"#)
        buffer.writeImmutableBuffer(trace)
        self.end(done: false, into: &buffer)
    }

    /// `{"type":"return_control","invocation_id","invocation_inputs",…}`
    func returnControl(_ control: InvokeAgentEvent.ReturnControl, into buffer: inout ByteBuffer) {
        self.begin("return_control", into: &buffer)
        buffer.writeStaticString(#"{"type":"return_control","invocation_id":"#)
        if let id = control.invocationId {
            JSONText.writeString(id, to: &buffer)
        } else {
            buffer.writeStaticString("null")
        }
        buffer.writeStaticString(#","invocation_inputs":"#)
        Self.writeJSON(control.invocationInputs ?? [], to: &buffer)
        self.end(done: false, into: &buffer)
    }

    /// `{"type":"files","files":[{"name","type","bytes"}],…}`, the bytes in base64 as Bedrock sent them.
    func files(_ files: [InvokeAgentEvent.OutputFile], into buffer: inout ByteBuffer) {
        self.begin("files", into: &buffer)
        buffer.writeStaticString(#"{"type":"files","files":"#)
        Self.writeJSON(files, to: &buffer)
        self.end(done: false, into: &buffer)
    }

    /// `{"type":"completion","final_content","session_id","chunks",…,"done":true}`
    func completion(escapedFinalContent: ByteBuffer, sessionId: String, chunks: Int, usage: TokenUsage, into buffer: inout ByteBuffer) {
        self.begin("completion", into: &buffer)
        buffer.writeStaticString(#"{"type":"completion","final_content":""#)
        buffer.writeImmutableBuffer(escapedFinalContent)
        buffer.writeStaticString(#"","session_id":"#)
        JSONText.writeString(sessionId, to: &buffer)
        buffer.writeStaticString(#","chunks":"#)
        buffer.writeString(String(chunks))
        if !usage.isEmpty {
            buffer.writeStaticString(#","usage":"#)
            usage.writeJSON(to: &buffer)
        }
        self.end(done: true, into: &buffer)
    }

    /// `{"type":"error","error_code","message","retryable","request_id",…,"done":true}`
    func error(_ failure: StreamFailure, requestId: String, into buffer: inout ByteBuffer) {
        self.begin("error", into: &buffer)
        buffer.writeStaticString(#"{"type":"error","error_code":"#)
        JSONText.writeString(failure.errorCode, to: &buffer)
        buffer.writeStaticString(#","message":"#)
        JSONText.writeString(failure.message, to: &buffer)
        buffer.writeStaticString(failure.retryable ? #","retryable":true"# : #","retryable":false"#)
        buffer.writeStaticString(#","request_id":"#)
        JSONText.writeString(requestId, to: &buffer)
        self.end(done: true, into: &buffer)
    }

    private func end(done: Bool, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(done ? #","done":true,"timestamp":""# : #","done":false,"timestamp":""#)
        LineTimestamp.write(to: &buffer)
        buffer.writeStaticString(self.framing == .lines ? "\"}\n" : "\"}\n\n")
    }

    /// The rare structured fields (citations, invocation inputs, files), with sorted keys.
    private static func writeJSON(_ value: some Encodable, to buffer: inout ByteBuffer) {
        // These values were decoded from JSON a moment ago, so they always encode.
        buffer.writeBytes((try? JSONEncoder.sortedKeys.encode(value)) ?? Data("null".utf8))
    }
}
