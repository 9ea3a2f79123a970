/// The service model's rules for the identifiers in an InvokeAgent request, shared by the service
/// (which validates its clients' input) and MockBedrock (which validates like Bedrock does).
public struct BedrockIdentifier: Sendable {
    /// The field's name in Bedrock's model, used in messages.
    public let field: String
    /// Allowed lengths, in characters.
    public let lengths: ClosedRange<Int>
    /// Characters allowed besides ASCII letters and digits.
    public let extraCharacters: Set<Character>

    /// `agentId`: `^[0-9a-zA-Z]+$`, at most 10 characters.
    public static let agentId = BedrockIdentifier(field: "agentId", lengths: 1...10, extraCharacters: [])
    /// `agentAliasId`: `^[0-9a-zA-Z]+$`, at most 10 characters.
    public static let agentAliasId = BedrockIdentifier(field: "agentAliasId", lengths: 1...10, extraCharacters: [])
    /// `sessionId`: `^[0-9a-zA-Z._:-]+$`, 2 to 100 characters.
    public static let sessionId = BedrockIdentifier(field: "sessionId", lengths: 2...100, extraCharacters: [".", "_", ":", "-"])
    /// `memoryId`: `^[0-9a-zA-Z._:-]+$`, 2 to 100 characters.
    public static let memoryId = BedrockIdentifier(field: "memoryId", lengths: 2...100, extraCharacters: [".", "_", ":", "-"])

    /// The rule as an ECMA-262 regular expression, for the API's OpenAPI document.
    public var pattern: String {
        let extra = self.extraCharacters.sorted().map { $0 == "-" ? "\\-" : String($0) }.joined()
        return "^[0-9a-zA-Z\(extra)]{\(self.lengths.lowerBound),\(self.lengths.upperBound)}$"
    }

    /// What is wrong with `value` under this rule, or `nil` when it complies.
    public func violation(in value: String) -> String? {
        // Every allowed character is ASCII: a value of allowed bytes is as many characters long as
        // it has bytes, and checking it byte by byte spares the Unicode lookups on every request.
        if value.utf8.allSatisfy(self.allows), self.lengths.contains(value.utf8.count) {
            return nil
        }
        guard self.lengths.contains(value.count) else {
            return "\(self.field) must be \(self.lengths.lowerBound) to \(self.lengths.upperBound) characters long, got \(value.count)"
        }
        let refused = value.first { !(($0.isASCII && ($0.isLetter || $0.isNumber)) || self.extraCharacters.contains($0)) }
        guard let refused else { return nil }
        let allowed =
            self.extraCharacters.isEmpty
            ? "ASCII letters and digits"
            : "ASCII letters, digits and the characters \(self.extraCharacters.sorted().map(String.init).joined())"
        let shown = refused.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } ? "'\(refused)'" : "a control character"
        return "\(self.field) may contain only \(allowed), got \(shown)"
    }

    private func allows(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        case 0x20..<0x7F: self.extraCharacters.contains(Character(Unicode.Scalar(byte)))
        default: false
        }
    }
}
