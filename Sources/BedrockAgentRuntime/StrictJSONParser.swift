/// A strict RFC 8259 parser into ``JSONValue``, for bodies that come from anyone.
///
/// Foundation's `JSONDecoder` is lenient where proxies and web application firewalls in front of a
/// service are not (trailing commas, duplicate keys of which the first wins, UTF-16 input), and
/// decoding `JSONValue` through it tries each kind at every level, which deep nesting makes costly.
/// This parser reads the bytes once, in time linear in their length whatever they hold, and
/// refuses, with the byte offset and the path of the value:
/// - anything RFC 8259 does not allow (trailing commas, comments, single quotes, `NaN`, leading
///   zeros, control characters in strings, bytes after the value);
/// - input that is not UTF-8 (UTF-16 and UTF-32 are named as such), and lone surrogate escapes;
/// - an object with the same key twice (compared after unescaping);
/// - nesting deeper than ``Limits/maxDepth``, or more than ``Limits/maxValues`` values;
/// - a number too large for a `Double`.
///
/// A UTF-8 byte order mark at the start is skipped, as RFC 8259 allows.
public struct StrictJSONParser {
    /// What a body may hold.
    public struct Limits: Sendable {
        /// Arrays and objects inside one another, the outermost counting as 1.
        public var maxDepth: Int
        /// Values of any kind in the whole body (each array, object, string, number, boolean and
        /// null counts one; keys do not). Every value costs an allocation or a conversion, so this
        /// bounds the time a body of many tiny values (`[[],[],…]`, `{"a":0,"b":0,…}`) takes.
        public var maxValues: Int

        /// - Parameters:
        ///   - maxDepth: default 32; nothing in this service's API nests deeper than a few levels.
        ///   - maxValues: default 10,000; a request holds a few dozen, and the large parts of
        ///     return-control results (API and function answers) are strings.
        public init(maxDepth: Int = 32, maxValues: Int = 10_000) {
            self.maxDepth = maxDepth
            self.maxValues = maxValues
        }
    }

    /// Why a body was refused: what is wrong, where (byte offset, and the path of the value that
    /// holds it, like `session_attributes.tier` or `items[2]`).
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var problem: String
        public var byteOffset: Int
        /// Empty at the top level.
        public var path: String

        public var description: String {
            self.path.isEmpty ? "\(self.problem) (at byte \(self.byteOffset))" : "\(self.problem) (at byte \(self.byteOffset), in \(self.path))"
        }
    }

    /// Parses `bytes`, which must hold exactly one JSON value.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: Limits = .init()) throws(Error) -> JSONValue {
        var parser = StrictJSONParser(bytes: bytes, limits: limits)
        return try parser.parseDocument()
    }

    /// Parses `bytes`, which must hold exactly one JSON value.
    public static func parse(_ bytes: some Collection<UInt8>, limits: Limits = .init()) throws(Error) -> JSONValue {
        let result: Result<JSONValue, Error> =
            bytes.withContiguousStorageIfAvailable { buffer in
                Result { () throws(Error) in try Self.parse(UnsafeRawBufferPointer(buffer), limits: limits) }
            }
            ?? Array(bytes).withUnsafeBytes { buffer in
                Result { () throws(Error) in try Self.parse(buffer, limits: limits) }
            }
        return try result.get()
    }

    private enum PathComponent {
        /// `nil` until the key is read.
        case key(String?)
        case index(Int)
    }

    private let bytes: UnsafeRawBufferPointer
    private let limits: Limits
    private var offset = 0
    private var depth = 0
    private var values = 0
    /// The containers being read and where in each: only turned into text for an error.
    private var path: [PathComponent] = []
    /// Reused for strings with escapes.
    private var scratch: [UInt8] = []

    private init(bytes: UnsafeRawBufferPointer, limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    private mutating func parseDocument() throws(Error) -> JSONValue {
        try self.checkEncoding()
        self.skipWhitespace()
        let value = try self.parseValue()
        self.skipWhitespace()
        if self.offset < self.bytes.count {
            throw self.error("unexpected \(self.describeByte()) after the JSON value")
        }
        return value
    }

    /// Refuses UTF-16 and UTF-32, which JSON once allowed and RFC 8259 no longer does; skips a BOM.
    private mutating func checkEncoding() throws(Error) {
        let count = self.bytes.count
        if count >= 2 && ((self.bytes[0] == 0xFE && self.bytes[1] == 0xFF) || (self.bytes[0] == 0xFF && self.bytes[1] == 0xFE)) {
            throw self.error("the body is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8")
        }
        if count >= 2 && (self.bytes[0] == 0 || self.bytes[1] == 0) {
            throw self.error("the body is not UTF-8 (it holds zero bytes, as UTF-16 or UTF-32 does); send UTF-8")
        }
        if count >= 3 && self.bytes[0] == 0xEF && self.bytes[1] == 0xBB && self.bytes[2] == 0xBF {
            self.offset = 3
        }
    }

    private mutating func parseValue() throws(Error) -> JSONValue {
        self.values += 1
        if self.values > self.limits.maxValues {
            throw self.error("the body holds more than \(self.limits.maxValues) values")
        }
        guard self.offset < self.bytes.count else {
            throw self.error(self.bytes.isEmpty ? "the body is empty" : "the body ends where a value was expected")
        }
        switch self.bytes[self.offset] {
        case UInt8(ascii: "{"): return try self.parseObject()
        case UInt8(ascii: "["): return try self.parseArray()
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try self.parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try self.parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.parseNumber()
        default: throw self.error("unexpected \(self.describeByte()) where a value was expected")
        }
    }

    private mutating func enterContainer() throws(Error) {
        self.depth += 1
        if self.depth > self.limits.maxDepth {
            throw self.error("arrays and objects are nested deeper than \(self.limits.maxDepth) levels")
        }
    }

    private mutating func parseObject() throws(Error) -> JSONValue {
        try self.enterContainer()
        self.offset += 1
        var members: [String: JSONValue] = [:]
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.offset += 1
            self.depth -= 1
            return .object(members)
        }
        self.path.append(.key(nil))
        while true {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: "\"") else {
                throw self.error(
                    self.peek() == UInt8(ascii: "}") ? "a trailing comma before '}'" : "unexpected \(self.describeByte()) where a key was expected"
                )
            }
            let keyOffset = self.offset
            let key = try self.parseString()
            self.path[self.path.count - 1] = .key(key)
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: ":") else {
                throw self.error("unexpected \(self.describeByte()) where ':' was expected")
            }
            self.offset += 1
            self.skipWhitespace()
            // One hash lookup: a duplicate is found as its value is stored, and reported at its key.
            if members.updateValue(try self.parseValue(), forKey: key) != nil {
                self.offset = keyOffset
                throw self.error("the key '\(Self.shortened(key))' appears twice in one object")
            }
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.offset += 1
                self.path[self.path.count - 1] = .key(nil)
            case UInt8(ascii: "}"):
                self.offset += 1
                self.path.removeLast()
                self.depth -= 1
                return .object(members)
            default:
                throw self.error("unexpected \(self.describeByte()) where ',' or '}' was expected")
            }
        }
    }

    private mutating func parseArray() throws(Error) -> JSONValue {
        try self.enterContainer()
        self.offset += 1
        var items: [JSONValue] = []
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "]") {
            self.offset += 1
            self.depth -= 1
            return .array(items)
        }
        self.path.append(.index(0))
        while true {
            self.skipWhitespace()
            self.path[self.path.count - 1] = .index(items.count)
            if self.peek() == UInt8(ascii: "]") {
                throw self.error("a trailing comma before ']'")
            }
            items.append(try self.parseValue())
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.offset += 1
            case UInt8(ascii: "]"):
                self.offset += 1
                self.path.removeLast()
                self.depth -= 1
                return .array(items)
            default:
                throw self.error("unexpected \(self.describeByte()) where ',' or ']' was expected")
            }
        }
    }

    private mutating func parseLiteral(_ literal: StaticString, _ value: JSONValue) throws(Error) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard self.offset + count <= self.bytes.count,
            UnsafeRawBufferPointer(rebasing: self.bytes[self.offset..<self.offset + count])
                .elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: count))
        else {
            throw self.error("unexpected \(self.describeByte()) where a value was expected")
        }
        self.offset += count
        return value
    }

    private mutating func parseNumber() throws(Error) -> JSONValue {
        let start = self.offset
        if self.peek() == UInt8(ascii: "-") { self.offset += 1 }
        switch self.peek() {
        case UInt8(ascii: "0"):
            self.offset += 1
            if let next = self.peek(), Self.isDigit(next) {
                throw self.error("a number has a leading zero")
            }
        case let digit? where Self.isDigit(digit):
            self.skipDigits()
        default:
            throw self.error("a number has no digits after '-'")
        }
        if self.peek() == UInt8(ascii: ".") {
            self.offset += 1
            guard let digit = self.peek(), Self.isDigit(digit) else { throw self.error("a number has no digits after '.'") }
            self.skipDigits()
        }
        if self.peek() == UInt8(ascii: "e") || self.peek() == UInt8(ascii: "E") {
            self.offset += 1
            if self.peek() == UInt8(ascii: "+") || self.peek() == UInt8(ascii: "-") { self.offset += 1 }
            guard let digit = self.peek(), Self.isDigit(digit) else { throw self.error("a number has no digits in its exponent") }
            self.skipDigits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.offset]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            self.offset = start
            throw self.error("a number is too large for a 64-bit float (\(Self.shortened(text)), \(text.utf8.count) characters)")
        }
        return .number(value)
    }

    private mutating func skipDigits() {
        while let byte = self.peek(), Self.isDigit(byte) {
            self.offset += 1
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Reads a string whose opening quote is at the offset.
    private mutating func parseString() throws(Error) -> String {
        let start = self.offset
        self.offset += 1
        // The common case: no escapes, so the bytes between the quotes are the string.
        while self.offset < self.bytes.count {
            let byte = self.bytes[self.offset]
            if byte == UInt8(ascii: "\"") {
                guard let text = Self.text(UnsafeRawBufferPointer(rebasing: self.bytes[(start + 1)..<self.offset])) else {
                    throw self.error("a string is not valid UTF-8")
                }
                self.offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw self.error("a string holds the control character \(Self.hex(byte)) unescaped") }
            self.offset += 1
        }
        self.scratch.removeAll(keepingCapacity: true)
        self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.bytes[(start + 1)..<self.offset]))
        while self.offset < self.bytes.count {
            let byte = self.bytes[self.offset]
            switch byte {
            case UInt8(ascii: "\""):
                self.offset += 1
                guard let text = self.scratch.withUnsafeBytes(Self.text) else {
                    throw self.error("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                try self.parseEscape()
            case 0..<0x20:
                throw self.error("a string holds the control character \(Self.hex(byte)) unescaped")
            default:
                self.scratch.append(byte)
                self.offset += 1
            }
        }
        self.offset = start
        throw self.error("a string is not closed")
    }

    /// Appends the character of the escape at the offset to the scratch buffer.
    private mutating func parseEscape() throws(Error) {
        guard self.offset + 1 < self.bytes.count else { throw self.error("a string ends inside an escape") }
        let escaped = self.bytes[self.offset + 1]
        let simple: UInt8? =
            switch escaped {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case UInt8(ascii: "/"): UInt8(ascii: "/")
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            self.scratch.append(simple)
            self.offset += 2
            return
        }
        guard escaped == UInt8(ascii: "u") else {
            throw self.error("a string holds the unknown escape '\\\(Self.printable(escaped))'")
        }
        var scalar = try self.hexQuad(at: self.offset + 2)
        self.offset += 6
        if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by the escape of a low one: together, one character.
            guard self.offset + 1 < self.bytes.count, self.bytes[self.offset] == UInt8(ascii: "\\"),
                self.bytes[self.offset + 1] == UInt8(ascii: "u")
            else {
                throw self.error("a string holds a lone surrogate escape (\\u\(String(scalar, radix: 16, uppercase: true)))")
            }
            let low = try self.hexQuad(at: self.offset + 2)
            guard (0xDC00..<0xE000).contains(low) else {
                throw self.error("a string holds a lone surrogate escape (\\u\(String(scalar, radix: 16, uppercase: true)))")
            }
            self.offset += 6
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw self.error("a string holds a lone surrogate escape (\\u\(String(scalar, radix: 16, uppercase: true)))")
        }
        // Every value left is a Unicode scalar: its UTF-8 bytes.
        switch scalar {
        case 0..<0x80:
            self.scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            self.scratch.append(UInt8(0xC0 | scalar >> 6))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            self.scratch.append(UInt8(0xE0 | scalar >> 12))
            self.scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            self.scratch.append(UInt8(0xF0 | scalar >> 18))
            self.scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            self.scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private func hexQuad(at position: Int) throws(Error) -> UInt32 {
        guard position + 4 <= self.bytes.count else { throw self.error("a string ends inside a \\u escape") }
        var value: UInt32 = 0
        for index in position..<position + 4 {
            let byte = self.bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.error("a \\u escape needs four hexadecimal digits")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The string of `buffer`'s bytes; `nil` when they are not well-formed UTF-8 (ASCII needs no check).
    private static func text(_ buffer: UnsafeRawBufferPointer) -> String? {
        if !buffer.contains(where: { $0 >= 0x80 }) {
            return String(decoding: buffer, as: UTF8.self)
        }
        return String(validating: buffer, as: UTF8.self)
    }

    private mutating func skipWhitespace() {
        while self.offset < self.bytes.count {
            switch self.bytes[self.offset] {
            case 0x20, 0x09, 0x0A, 0x0D: self.offset += 1
            default: return
            }
        }
    }

    private func peek() -> UInt8? {
        self.offset < self.bytes.count ? self.bytes[self.offset] : nil
    }

    private func describeByte() -> String {
        guard let byte = self.peek() else { return "end of the body" }
        return byte >= 0x20 && byte < 0x7F ? "'\(Self.printable(byte))'" : "byte \(Self.hex(byte))"
    }

    private func error(_ problem: String) -> Error {
        Error(problem: problem, byteOffset: self.offset, path: self.pathText())
    }

    private func pathText() -> String {
        var text = ""
        for component in self.path {
            switch component {
            case .key(nil):
                continue
            case .key(let key?):
                let short = Self.shortened(key)
                let plain =
                    !short.isEmpty
                    && short.utf8.allSatisfy { $0 < 0x80 && ($0 == UInt8(ascii: "_") || Character(Unicode.Scalar($0)).isLetter || Self.isDigit($0)) }
                text += plain ? (text.isEmpty ? short : "." + short) : "[\"\(short)\"]"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// A key or number as a message shows it: printable, at most 40 characters.
    private static func shortened(_ text: String) -> String {
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.lazy.map { $0.value < 0x20 || $0 == "\"" || $0 == "\\" ? "?" : $0 }))
        return printable.count > 40 ? String(printable.prefix(40)) + "…" : printable
    }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : hex(byte)
    }

    private static func hex(_ byte: UInt8) -> String {
        "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
    }
}
