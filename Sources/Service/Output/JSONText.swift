import NIOCore

/// JSON string escaping straight into a `ByteBuffer`: the stream's lines are written by hand
/// rather than through `JSONEncoder`, because a chunk line is written for every piece of every
/// answer and its `accumulated_content` grows with the answer.
enum JSONText {
    /// Writes `"text"`, escaped.
    static func writeString(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            buffer.writeInteger(UInt8(ascii: "\""))
            self.writeEscaped(UnsafeRawBufferPointer(bytes), to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
    }

    /// Writes the escaped form of UTF-8 `bytes`, without quotes: `"` and `\` are escaped, and
    /// control characters become `\n`, `\r`, `\t` or `\u00XX`. Runs of plain bytes are copied whole.
    static func writeEscaped(_ bytes: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if index > runStart {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString(#"\""#)
            case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
            case UInt8(ascii: "\n"): buffer.writeStaticString(#"\n"#)
            case UInt8(ascii: "\r"): buffer.writeStaticString(#"\r"#)
            case UInt8(ascii: "\t"): buffer.writeStaticString(#"\t"#)
            default:
                let hex: StaticString = "0123456789abcdef"
                buffer.writeStaticString(#"\u00"#)
                buffer.writeInteger(hex.utf8Start[Int(byte >> 4)])
                buffer.writeInteger(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        if bytes.count > runStart {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
    }
}
