import AWSAccess
import Foundation
import NIOCore

/// `2024-01-01T12:00:00.123Z` for every stream line, formatted from the wall clock with the
/// date-and-time part reused while the second stays the same.
struct LineTimestamp {
    private var second: Int = -1
    private var prefix: [UInt8] = []

    /// Appends the current time's text, without quotes.
    mutating func write(to buffer: inout ByteBuffer) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        if spec.tv_sec != self.second {
            self.second = spec.tv_sec
            // "…:SS.000Z" without its milliseconds and "Z".
            self.prefix = Array(AWSDateFormat.iso8601(Date(timeIntervalSince1970: Double(spec.tv_sec)), withMilliseconds: true).utf8.dropLast(4))
        }
        let milliseconds = spec.tv_nsec / 1_000_000
        buffer.writeBytes(self.prefix)
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        buffer.writeInteger(UInt8(ascii: "Z"))
    }
}
