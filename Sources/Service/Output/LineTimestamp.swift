import AWSAccess
import Foundation
import NIOCore
import Synchronization

/// `2024-01-01T12:00:00.123Z` for every stream line, formatted from the wall clock.
///
/// The date-and-time part is formatted once a second for the whole process, not per stream: a
/// stream that receives a token a second would otherwise format it again for every line.
enum LineTimestamp {
    /// The second last formatted, and its text up to the milliseconds (`…T12:00:00.`).
    private static let current = Mutex<(second: Int, prefix: [UInt8])>((-1, []))

    /// Appends the current time's text, without quotes.
    static func write(to buffer: inout ByteBuffer) {
        // Foundation's wall clock (`clock_gettime` below it), to the millisecond.
        let now = Date().timeIntervalSince1970
        let second = Int(now.rounded(.down))
        let milliseconds = min(999, Int((now - Double(second)) * 1000))
        let prefix = Self.current.withLock { current in
            if current.second != second {
                let text = AWSDateFormat.iso8601(Date(timeIntervalSince1970: Double(second)), withMilliseconds: true)
                current = (second, Array(text.utf8.dropLast(4)))
            }
            return current.prefix
        }
        buffer.writeBytes(prefix)
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        buffer.writeInteger(UInt8(ascii: "Z"))
    }
}
