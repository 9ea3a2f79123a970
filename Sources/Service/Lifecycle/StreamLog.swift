import Logging

/// The logger of one stream: the request's, with the stream's `session_id`, `agent_id` and
/// `format` on each line.
///
/// The metadata is added when a line is logged, not when the stream starts: a stream logs two or
/// three lines in its life, and a logger given its own metadata up front copies the handler and
/// its metadata dictionary for the whole of it (1.4 KB of every held stream, with `heaptrack`).
struct StreamLog: Sendable {
    let base: Logger
    let sessionId: String
    let agentId: String
    let format: String

    /// The logger to log a line with.
    var logger: Logger {
        var logger = self.base
        logger[metadataKey: "session_id"] = .string(self.sessionId)
        logger[metadataKey: "agent_id"] = .string(self.agentId)
        logger[metadataKey: "format"] = .string(self.format)
        return logger
    }
}
