/// Turns the bytes of consecutive chunks into valid UTF-8 text, a character split across two
/// chunks included: the incomplete end of one chunk is held back until the next completes it.
///
/// Bedrock's chunks are plain UTF-8 that usually, but not always, break between characters.
/// Invalid bytes become U+FFFD (one per maximal invalid subpart, as `String(decoding:)` does), so
/// whatever arrives, what is forwarded is valid.
struct UTF8StreamDecoder {
    /// The start of a character whose remaining bytes are in the next chunk (at most 3 bytes).
    private var held: [UInt8] = []

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Appends the complete characters of `held + bytes` to `output` and holds back an
    /// incomplete final character.
    mutating func decode(_ bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        if self.held.isEmpty {
            self.held = Self.validate(bytes, into: &output, atEnd: false)
        } else {
            let joined = self.held + bytes
            self.held = joined.withUnsafeBytes { Self.validate($0, into: &output, atEnd: false) }
        }
    }

    /// The stream ended: a held incomplete character becomes U+FFFD.
    mutating func finish(into output: inout [UInt8]) {
        if !self.held.isEmpty {
            _ = self.held.withUnsafeBytes { Self.validate($0, into: &output, atEnd: true) }
            self.held = []
        }
    }

    /// Copies valid sequences and replaces invalid ones; returns the incomplete tail, if any.
    private static func validate(_ bytes: UnsafeRawBufferPointer, into output: inout [UInt8], atEnd: Bool) -> [UInt8] {
        var index = 0
        var runStart = 0
        let count = bytes.count
        func flushRun(upTo end: Int) {
            if end > runStart {
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
            }
        }
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // Sequence length and the allowed range of the second byte, per the Unicode standard's
            // table of well-formed UTF-8 (which excludes overlongs, surrogates and > U+10FFFF).
            let length: Int
            var second: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                second = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                second = 0x80...0x9F
            case 0xF0:
                length = 4
                second = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                second = 0x80...0x8F
            default: length = 0
            }
            var valid = 1
            if length > 0 {
                while valid < length, index + valid < count {
                    let byte = bytes[index + valid]
                    guard (valid == 1 ? second : 0x80...0xBF).contains(byte) else { break }
                    valid += 1
                }
                if valid == length {
                    index += length
                    continue
                }
                if index + valid == count && !atEnd {
                    // A well-formed start cut off by the end of the chunk: hold it for the next one.
                    flushRun(upTo: index)
                    return Array(UnsafeRawBufferPointer(rebasing: bytes[index..<count]))
                }
            }
            flushRun(upTo: index)
            output.append(contentsOf: Self.replacement)
            index += valid
            runStart = index
        }
        flushRun(upTo: count)
        return []
    }
}
