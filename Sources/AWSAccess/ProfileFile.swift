import Foundation

#if canImport(Glibc)
import Glibc
#endif

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

    /// The largest shared file read: real ones are a few kilobytes.
    static let maxBytes = 1 << 20

    /// Reads and parses a file.
    /// - Returns: `nil` when there is no file at `path`. `/dev/null` (a common way to ignore the
    ///   user's files) reads as an empty file, as botocore reads it.
    /// - Throws: ``AWSAccessError/unreadableFile`` when it exists but cannot be read, is not a
    ///   regular file (a directory, a FIFO, which would block the read, a socket or a device) or
    ///   is larger than ``maxBytes``; ``AWSAccessError/malformedProfileFile`` when it is not valid.
    static func load(path: String) throws -> ProfileFile? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw AWSAccessError.unreadableFile("shared AWS file \(path) exists but cannot be read: \(String(cString: strerror(code)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFCHR where Self.isNullDevice(info):
            return try ProfileFile(path: path, contents: "")
        case S_IFDIR:
            throw AWSAccessError.unreadableFile("shared AWS file \(path) exists but cannot be read: it is a directory")
        default:
            throw AWSAccessError.unreadableFile(
                "shared AWS file \(path) is not read: it is not a regular file (a FIFO, socket or device other than /dev/null)"
            )
        }
        guard info.st_size <= Self.maxBytes else {
            throw AWSAccessError.unreadableFile("shared AWS file \(path) is not read: it is larger than \(Self.maxBytes) bytes")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AWSAccessError.unreadableFile("shared AWS file \(path) exists but cannot be read")
        }
        return try ProfileFile(path: path, contents: String(decoding: data, as: UTF8.self))
    }

    /// Whether `info` is that of `/dev/null` (the same device, whatever the path that names it).
    private static func isNullDevice(_ info: stat) -> Bool {
        var null = stat()
        return stat("/dev/null", &null) == 0 && null.st_rdev == info.st_rdev
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
