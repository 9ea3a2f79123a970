import Foundation

extension JSONEncoder {
    /// How this project writes the JSON documents it builds with `Codable` (status bodies, the
    /// structured fields of stream lines, MockBedrock's payloads): keys sorted, so output is stable
    /// to read and to compare, and `/` written plainly, not as `\/` (Foundation's default), as
    /// every other API writes it. Shared, since encoding has no mutable state.
    public static let sortedKeys: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
