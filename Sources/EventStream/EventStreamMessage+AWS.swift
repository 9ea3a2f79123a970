import NIOCore

/// The AWS conventions layered on raw event-stream messages: which headers say what a message is.
extension EventStreamMessage {
    /// What a message carries, from its `:message-type` header and the headers that go with it.
    public enum Kind: Hashable, Sendable {
        /// A modeled event such as `chunk` or `trace` (`:event-type`).
        case event(type: String)
        /// A modeled exception such as `throttlingException` (`:exception-type`); the payload is
        /// JSON `{"message": ...}`.
        case exception(type: String)
        /// An unmodeled service error, described entirely by its headers.
        case error(code: String, message: String?)
    }

    /// The `:message-type` header: `event`, `exception` or `error`.
    public var messageType: String? { self[header: ":message-type"]?.stringValue }
    /// The `:event-type` header of an event.
    public var eventType: String? { self[header: ":event-type"]?.stringValue }
    /// The `:exception-type` header of an exception.
    public var exceptionType: String? { self[header: ":exception-type"]?.stringValue }
    /// The `:error-code` header of an error.
    public var errorCode: String? { self[header: ":error-code"]?.stringValue }
    /// The `:error-message` header of an error.
    public var errorMessage: String? { self[header: ":error-message"]?.stringValue }
    /// The `:content-type` header, describing the payload (Bedrock sends `application/json`).
    public var contentType: String? { self[header: ":content-type"]?.stringValue }

    /// The message's kind; throws ``EventStreamError/Code/missingHeader`` or
    /// ``EventStreamError/Code/unknownMessageType`` when the headers break the conventions.
    public var kind: Kind {
        get throws {
            switch self.messageType {
            case "event":
                return .event(type: try self.required(":event-type", self.eventType))
            case "exception":
                return .exception(type: try self.required(":exception-type", self.exceptionType))
            case "error":
                return .error(code: try self.required(":error-code", self.errorCode), message: self.errorMessage)
            case nil:
                throw EventStreamError(.missingHeader, "no string header ':message-type'")
            case let other?:
                throw EventStreamError(.unknownMessageType, "':message-type' is '\(other)'")
            }
        }
    }

    private func required(_ name: String, _ value: String?) throws -> String {
        guard let value else {
            throw EventStreamError(.missingHeader, "no string header '\(name)' on a '\(self.messageType ?? "")' message")
        }
        return value
    }

    /// An event, with headers in the order AWS services send them: `:event-type`, `:content-type`,
    /// `:message-type`.
    public static func event(
        _ eventType: String,
        payload: ByteBuffer,
        contentType: String = "application/json"
    ) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":event-type", value: .string(eventType)),
                EventStreamHeader(name: ":content-type", value: .string(contentType)),
                EventStreamHeader(name: ":message-type", value: .string("event")),
            ],
            payload: payload
        )
    }

    /// A modeled exception, with headers in the order AWS services send them: `:exception-type`,
    /// `:content-type`, `:message-type`.
    public static func exception(
        _ exceptionType: String,
        payload: ByteBuffer,
        contentType: String = "application/json"
    ) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":exception-type", value: .string(exceptionType)),
                EventStreamHeader(name: ":content-type", value: .string(contentType)),
                EventStreamHeader(name: ":message-type", value: .string("exception")),
            ],
            payload: payload
        )
    }

    /// An unmodeled error: `:error-code`, `:error-message`, `:message-type`, and no payload.
    public static func error(code: String, message: String) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":error-code", value: .string(code)),
                EventStreamHeader(name: ":error-message", value: .string(message)),
                EventStreamHeader(name: ":message-type", value: .string("error")),
            ]
        )
    }
}
