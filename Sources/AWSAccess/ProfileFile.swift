import Foundation

/// An AWS shared file (`~/.aws/credentials` or `~/.aws/config`) parsed as the SDKs read it: INI
/// sections of `key = value` properties.
///
/// Lines starting with `#` or `;` are comments, as is the rest of a line after whitespace and `#`
/// or `;`; property names are case-insensitive; an indented line continues the property above it
/// (nested settings such as `s3 =`), which is kept out of the section.
struct ProfileFile {
    /// The file's path, for reporting.
    let path: String
    /// Properties by section name as written (`default`, `profile dev`, `dev`), names lowercased.
    let sections: [String: [String: String]]

    /// Reads and parses a file.
    /// - Returns: `nil` when there is no file at `path`.
    /// - Throws: ``AWSAccessError/unreadableFile`` when it exists but cannot be read,
    ///   ``AWSAccessError/malformedProfileFile`` when it is not valid.
    static func load(path: String) throws -> ProfileFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AWSAccessError.unreadableFile("shared AWS file \(path) exists but cannot be read")
        }
        return try ProfileFile(path: path, contents: String(decoding: data, as: UTF8.self))
    }

    /// Parses a file's contents.
    /// - Throws: ``AWSAccessError/malformedProfileFile`` naming the file and line (never its text,
    ///   which may hold a key).
    init(path: String, contents: String) throws {
        self.path = path
        var sections: [String: [String: String]] = [:]
        var section: String?
        var lastPropertyInSection = false
        for (index, rawLine) in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = Self.removingComment(rawLine)
            if line.isEmpty { continue }
            let malformed = { (reason: String) in
                AWSAccessError.malformedProfileFile("\(path) line \(index + 1): \(reason)")
            }
            if rawLine.first == " " || rawLine.first == "\t" {
                guard lastPropertyInSection else { throw malformed("an indented line must continue a property") }
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw malformed("a section header must end with ']'") }
                let name = line.dropFirst().dropLast().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                guard !name.isEmpty else { throw malformed("a section header needs a name") }
                section = name
                sections[name, default: [:]] = sections[name, default: [:]]
                lastPropertyInSection = false
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw malformed("expected '[section]' or 'key = value'") }
            guard let current = section else { throw malformed("a property must follow a '[section]' header") }
            let key = line[..<equals].trimmingASCIIWhitespace().lowercased()
            guard !key.isEmpty else { throw malformed("a property needs a name before '='") }
            sections[current, default: [:]][key] = line[line.index(after: equals)...].trimmingASCIIWhitespace()
            lastPropertyInSection = true
        }
        self.sections = sections
    }

    /// The line without a comment, trimmed.
    private static func removingComment(_ line: Substring) -> String {
        let trimmed = line.trimmingASCIIWhitespace()
        if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { return "" }
        var previous: Character = " "
        for index in trimmed.indices {
            let character = trimmed[index]
            if (character == "#" || character == ";") && (previous == " " || previous == "\t") {
                return trimmed[..<index].trimmingASCIIWhitespace()
            }
            previous = character
        }
        return trimmed
    }
}
