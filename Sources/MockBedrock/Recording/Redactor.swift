import EventStream
import Foundation
import NIOCore

/// What `MockBedrock record --redact` replaces before a recording is written: the account id of
/// every ARN (and that account id wherever else it appears), and the session ids of the request,
/// in every frame's payload and string headers (a chunk's text too, inside its base64), every
/// Server-Sent Event, the answer's headers and the recorded request. Event-stream frames are
/// encoded again, with their checksums computed afresh.
///
/// Not redacted: what an agent says that only looks like an account id (a 12-digit number no ARN
/// of the recording names), and the contents of `files` events.
struct Redactor: Sendable {
    /// What account ids become.
    static let accountPlaceholder = "000000000000"
    /// What session ids become: one valid as a Bedrock session id and as a runtime session id
    /// (33 characters or more).
    static let sessionPlaceholder = "redacted-session-00000000000000000000"

    /// The account ids to replace.
    private(set) var accounts: Set<String> = []
    /// The session ids to replace (only ids of 4 characters or more, so that a short one does not
    /// clobber the text around it).
    private(set) var sessions: Set<String> = []

    /// Names every account id of an ARN in `texts`, and the session ids given.
    init(texts: [String], sessions: [String]) {
        for text in texts {
            self.accounts.formUnion(Self.arnAccounts(in: text))
        }
        self.accounts.remove(Self.accountPlaceholder)
        self.sessions = Set(sessions.filter { $0.count >= 4 && $0 != Self.sessionPlaceholder })
    }

    /// The account ids named by ARNs in `text` (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
    static func arnAccounts(in text: String) -> Set<String> {
        var accounts: Set<String> = []
        var rest = Substring(text)
        while let start = rest.range(of: "arn:aws") {
            let fields = rest[start.lowerBound...].prefix(200).split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            if fields.count >= 6, fields[4].count == 12, fields[4].allSatisfy(\.isASCIIDigit) {
                accounts.insert(String(fields[4]))
            }
            rest = rest[start.upperBound...]
        }
        return accounts
    }

    func redact(_ text: String) -> String {
        var text = text
        // Longer first, so that a session id holding another is replaced whole.
        for session in self.sessions.sorted(by: { $0.count > $1.count }) where text.contains(session) {
            text = text.replacingOccurrences(of: session, with: Self.sessionPlaceholder)
        }
        for account in self.accounts where text.contains(account) {
            text = text.replacingOccurrences(of: account, with: Self.accountPlaceholder)
        }
        return text
    }

    /// `bytes` redacted when they are UTF-8 text; other bytes as they are.
    func redact(bytes: ByteBuffer) -> ByteBuffer {
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else { return bytes }
        let redacted = self.redact(text)
        return redacted == text ? bytes : ByteBuffer(string: redacted)
    }

    /// One event-stream frame with its payload and string headers redacted, and a chunk's text
    /// inside its base64; encoded again (new lengths, new checksums).
    func redact(frame message: EventStreamMessage) throws -> ByteBuffer {
        var message = message
        message.headers = message.headers.map { header in
            guard case .string(let value) = header.value else { return header }
            return EventStreamHeader(name: header.name, value: .string(self.redact(value)))
        }
        var payload = self.redact(bytes: message.payload)
        if message.eventType == "chunk" {
            payload = self.redactChunkText(payload)
        }
        message.payload = payload
        return try EventStreamEncoder().encode(message)
    }

    /// A chunk payload `{"bytes": base64, ...}` whose decoded text names what is redacted, with
    /// the base64 of the redacted text in its place.
    private func redactChunkText(_ payload: ByteBuffer) -> ByteBuffer {
        guard let (base64, text) = Self.chunkText(payload) else { return payload }
        let redacted = self.redact(text)
        guard redacted != text, let json = payload.getString(at: payload.readerIndex, length: payload.readableBytes) else { return payload }
        return ByteBuffer(string: json.replacingOccurrences(of: base64, with: Data(redacted.utf8).base64EncodedString()))
    }
}

extension Redactor {
    /// A chunk payload's base64 `bytes` and the UTF-8 text they hold, when they hold text.
    static func chunkText(_ payload: ByteBuffer) -> (base64: String, text: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.readableBytesView)) as? [String: Any],
            let base64 = object["bytes"] as? String, let bytes = Data(base64Encoded: base64),
            let text = String(data: bytes, encoding: .utf8)
        else { return nil }
        return (base64, text)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self.isASCII && self.isNumber }
}
