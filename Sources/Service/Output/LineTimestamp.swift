import AWSAccess
import Foundation
import NIOCore

/// `2024-01-01T12:00:00.123Z` for every stream line, formatted from the wall clock.
///
/// One read of the wall clock (Foundation's `Date`, a `clock_gettime`) and integer arithmetic a
/// line: no formatter, no lock, no cache shared between the event loops.
enum LineTimestamp {
    /// Appends the current time's text, without quotes.
    static func write(to buffer: inout ByteBuffer) {
        self.write(epochMilliseconds: Int((Date().timeIntervalSince1970 * 1000).rounded(.down)), to: &buffer)
    }

    /// Appends the text of the instant `epochMilliseconds` after 1970-01-01T00:00:00Z (years 0 to
    /// 9999).
    static func write(epochMilliseconds: Int, to buffer: inout ByteBuffer) {
        let days = epochMilliseconds >= 0 ? epochMilliseconds / 86_400_000 : (epochMilliseconds - 86_399_999) / 86_400_000
        let inDay = epochMilliseconds - days * 86_400_000
        let (year, month, day) = AWSDateFormat.civil(fromDays: days)
        let seconds = inDay / 1000
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { text in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            text[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            text[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            text[10] = UInt8(ascii: "T")
            put(seconds / 3600, 2, at: 11)
            text[13] = UInt8(ascii: ":")
            put(seconds / 60 % 60, 2, at: 14)
            text[16] = UInt8(ascii: ":")
            put(seconds % 60, 2, at: 17)
            text[19] = UInt8(ascii: ".")
            put(inDay % 1000, 3, at: 20)
            text[23] = UInt8(ascii: "Z")
            return 24
        }
    }
}
