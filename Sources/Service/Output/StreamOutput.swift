import BedrockAgentRuntime
import NIOCore

/// How a stream's events become the bytes its client reads: one conforming type per format
/// (``NDJSONOutput`` today). The stream (``AgentStream``) decides what happens and in what order,
/// exactly one `start` first and exactly one terminal event last; an output only writes.
///
/// Text arrives JSON-escaped (``JSONText``): the stream escapes each chunk's text once, and keeps
/// the whole answer so far escaped too, so that a format that repeats it (NDJSON's
/// `accumulated_content`) copies instead of escaping again. An output may keep state between
/// events (a format that opens and closes text parts), hence `mutating`.
protocol StreamOutput: Sendable {
    /// The response's `Content-Type`.
    var contentType: String { get }
    /// The format's name on log lines and metrics (`ndjson`, `sse`).
    var formatName: String { get }

    /// Something that keeps a quiet stream alive without being an event (an SSE comment), written
    /// when nothing else was for `HEARTBEAT_SECONDS`; formats without one write nothing.
    func heartbeat(into buffer: inout ByteBuffer)

    /// The stream has begun (sent once the Bedrock request is on its way).
    mutating func start(target: InvokeAgentTarget, requestId: String, into buffer: inout ByteBuffer)
    /// A piece of the answer: its escaped text, the escaped answer so far, its citations.
    mutating func chunk(
        escapedContent: UnsafeRawBufferPointer,
        escapedAccumulated: ByteBuffer,
        citations: [JSONValue]?,
        into buffer: inout ByteBuffer
    )
    /// A trace event's payload (valid JSON), forwarded only in debug mode.
    mutating func trace(_ payload: ByteBuffer, into buffer: inout ByteBuffer)
    /// The agent hands control back: the client runs the function and calls again.
    mutating func returnControl(_ control: InvokeAgentEvent.ReturnControl, into buffer: inout ByteBuffer)
    /// Files the agent produced.
    mutating func files(_ files: [InvokeAgentEvent.OutputFile], into buffer: inout ByteBuffer)
    /// The terminal event of a stream that ended well, with the answer's token usage (empty when
    /// the agent reported none).
    mutating func completion(escapedFinalContent: ByteBuffer, sessionId: String, chunks: Int, usage: TokenUsage, into buffer: inout ByteBuffer)
    /// The terminal event of a stream that failed.
    mutating func error(_ failure: StreamFailure, requestId: String, into buffer: inout ByteBuffer)
}
