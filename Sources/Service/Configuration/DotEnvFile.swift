import Foundation

/// A `.env` file: `KEY=value` lines, as Docker Compose and python-dotenv read them.
///
/// Blank lines and `#` comments are skipped, an `export ` prefix is allowed, values may be quoted
/// with `'` or `"` (inside double quotes `\n`, `\"` and `\\` are escapes), and an unquoted value
/// ends at ` #`. Anything else is an error naming the file and line, so a typo cannot silently
/// drop a setting.
enum DotEnvFile {
    /// The variables of the file at `path`, or none when it does not exist.
    static func load(path: String) throws(ConfigurationError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(source: path, problem: "cannot be read as UTF-8 text")
        }
        return try self.parse(text, source: path)
    }

    static func parse(_ text: String, source: String) throws(ConfigurationError) -> [String: String] {
        var variables: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingCharacters(in: .whitespaces) }
            let location = "\(source):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(source: location, problem: "is not KEY=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard let first = key.first, first == "_" || first.isLetter,
                key.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
            else {
                throw ConfigurationError(source: location, problem: "'\(key)' is not a variable name")
            }
            variables[key] = try self.value(String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces), at: location)
        }
        return variables
    }

    private static func value(_ raw: String, at location: String) throws(ConfigurationError) -> String {
        guard let quote = raw.first, quote == "\"" || quote == "'" else {
            if let comment = raw.range(of: " #") {
                return String(raw[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            return raw
        }
        var value = ""
        var escaped = false
        for character in raw.dropFirst() {
            if escaped {
                value.append(character == "n" ? "\n" : character)
                escaped = false
            } else if character == "\\" && quote == "\"" {
                escaped = true
            } else if character == quote {
                return value
            } else {
                value.append(character)
            }
        }
        throw ConfigurationError(source: location, problem: "has an unterminated \(quote)-quoted value")
    }
}
