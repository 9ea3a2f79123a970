import AWSAccess
import Foundation
import Logging
import NIOCore
import Synchronization

/// Log lines in the original service's format, which its CloudWatch queries and alarms expect:
///
///     2024-01-01 12:00:00 - app - INFO - Request started - {"request_id": "abc-123", "method": "POST"}
///
/// or, with `LOG_FORMAT=json`, one JSON object a line. Metadata is printed with `request_id` first
/// and the other keys sorted, so lines are stable to read and to grep.
struct PythonLoggingFormatHandler: LogHandler {
    let label: String
    let format: ServiceConfiguration.LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// Where lines go; standard output unless a test collects them.
    let output: @Sendable (String) -> Void

    init(
        label: String,
        format: ServiceConfiguration.LogFormat,
        level: Logger.Level,
        output: @escaping @Sendable (String) -> Void = Self.standardOutput
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        if let error = event.error {
            merged["error"] = .string("\(error)")
        }
        let keys = merged.keys.sorted { lhs, rhs in
            lhs == "request_id" || (rhs != "request_id" && lhs < rhs)
        }
        let now = Date()
        let level = Self.levelName(event.level)
        switch self.format {
        case .text:
            var line = Self.pythonTimestamp(now) + " - \(self.label) - \(level) - \(Self.capped(event.message.description))"
            if !keys.isEmpty {
                line += " - {" + keys.map { "\(Self.quote($0)): \(Self.json(merged[$0]!))" }.joined(separator: ", ") + "}"
            }
            self.output(line)
        case .json:
            var fields = [
                "\"timestamp\":\(Self.quote(AWSDateFormat.iso8601(now, withMilliseconds: true)))",
                "\"logger\":\(Self.quote(self.label))", "\"level\":\(Self.quote(level))",
                "\"message\":\(Self.quote(Self.capped(event.message.description)))",
            ]
            fields += keys.map { "\(Self.quote($0)):\(Self.json(merged[$0]!))" }
            self.output("{" + fields.joined(separator: ",") + "}")
        }
    }

    /// Python's logging level names.
    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }

    /// `2024-01-01 12:00:00`, as Python's `%(asctime)s` with `datefmt='%Y-%m-%d %H:%M:%S'`, in UTC.
    static func pythonTimestamp(_ date: Date) -> String {
        let iso = AWSDateFormat.iso8601(date)
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(8))
    }

    /// The longest text a log line carries for one metadata value or its message, in characters;
    /// longer text is cut and says how much was left out, so no value (a Bedrock error body, an
    /// upstream detail) can make a line of megabytes.
    static let maxValueLength = 16_384

    /// `text`, cut to ``maxValueLength`` characters.
    static func capped(_ text: String) -> String {
        guard text.utf8.count > Self.maxValueLength else { return text }
        let count = text.count
        guard count > Self.maxValueLength else { return text }
        return String(text.prefix(Self.maxValueLength)) + "… (\(count - Self.maxValueLength) more characters)"
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text):
            return self.quote(self.capped(text))
        case .stringConvertible(let value):
            // Numbers and booleans logged as values print as JSON numbers and booleans.
            switch value {
            case is Int, is Bool: return value.description
            case let number as Double where number.isFinite: return value.description
            default: return self.quote(self.capped(value.description))
            }
        case .array(let values):
            return "[" + values.map(self.json).joined(separator: ", ") + "]"
        case .dictionary(let members):
            return "{" + members.keys.sorted().map { "\(self.quote($0)): \(self.json(members[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    private static func quote(_ text: String) -> String {
        var buffer = ByteBuffer()
        JSONText.writeString(text, to: &buffer)
        return String(buffer: buffer)
    }

    /// Writes a line to standard output in one `write`, serialised so lines never interleave.
    @Sendable static func standardOutput(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        Self.outputLock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }

    private static let outputLock = Mutex(())
}
