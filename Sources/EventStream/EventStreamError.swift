/// A violation of the event-stream format, found while decoding or refused while encoding.
///
/// ``code`` says which rule was broken and is stable for matching; ``description`` adds the
/// specifics (lengths, checksums, header names) for logs.
public struct EventStreamError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which rule of the format was broken.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case preludeChecksumMismatch
            case messageChecksumMismatch
            case messageTooShort
            case messageTooLong
            case headersTooLong
            case headersPastFrameEnd
            case emptyHeaderName
            case headerNameTooLong
            case unknownHeaderType
            case headerOverrun
            case headerValueTooLong
            case invalidHeaderString
            case truncatedFrame
            case missingHeader
            case unknownMessageType
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The CRC32 of the 8-byte prelude does not match the checksum that follows it.
        public static let preludeChecksumMismatch = Code(.preludeChecksumMismatch)
        /// The CRC32 of the whole frame does not match its trailing checksum.
        public static let messageChecksumMismatch = Code(.messageChecksumMismatch)
        /// The total length is under the 16-byte minimum (prelude and trailing checksum).
        public static let messageTooShort = Code(.messageTooShort)
        /// The total length is over the 16 MiB maximum.
        public static let messageTooLong = Code(.messageTooLong)
        /// The headers section is over the 128 KiB maximum.
        public static let headersTooLong = Code(.headersTooLong)
        /// The headers section extends past the end of the frame.
        public static let headersPastFrameEnd = Code(.headersPastFrameEnd)
        /// A header has a zero-length name.
        public static let emptyHeaderName = Code(.emptyHeaderName)
        /// A header name is longer than the 255 bytes its length byte can express.
        public static let headerNameTooLong = Code(.headerNameTooLong)
        /// A header's type byte is not one of the ten wire types.
        public static let unknownHeaderType = Code(.unknownHeaderType)
        /// A header's name or value runs past the end of the headers section.
        public static let headerOverrun = Code(.headerOverrun)
        /// A byte-array or string value is longer than the 65,535 bytes its length field can express.
        public static let headerValueTooLong = Code(.headerValueTooLong)
        /// A header name or string value is not valid UTF-8.
        public static let invalidHeaderString = Code(.invalidHeaderString)
        /// The stream ended in the middle of a frame.
        public static let truncatedFrame = Code(.truncatedFrame)
        /// A header that the AWS conventions require is absent or not a string.
        public static let missingHeader = Code(.missingHeader)
        /// `:message-type` is not `event`, `exception` or `error`.
        public static let unknownMessageType = Code(.unknownMessageType)

        /// A short, fixed phrase for the rule; safe as a metric label.
        public var description: String {
            switch self.base {
            case .preludeChecksumMismatch: "Prelude checksum mismatch"
            case .messageChecksumMismatch: "Message checksum mismatch"
            case .messageTooShort: "Message shorter than the 16-byte minimum"
            case .messageTooLong: "Message longer than the 16 MiB maximum"
            case .headersTooLong: "Headers longer than the 128 KiB maximum"
            case .headersPastFrameEnd: "Headers extend past the end of the frame"
            case .emptyHeaderName: "Empty header name"
            case .headerNameTooLong: "Header name longer than 255 bytes"
            case .unknownHeaderType: "Unknown header type"
            case .headerOverrun: "Header runs past the end of the headers"
            case .headerValueTooLong: "Header value longer than 65535 bytes"
            case .invalidHeaderString: "Header string is not valid UTF-8"
            case .truncatedFrame: "Stream ended inside a frame"
            case .missingHeader: "Missing header"
            case .unknownMessageType: "Unknown message type"
            }
        }
    }

    /// Which rule was broken.
    public let code: Code
    /// The specifics: offending lengths, checksums or names.
    public let detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        "\(self.code): \(self.detail)"
    }
}
