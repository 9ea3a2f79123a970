import struct Foundation.Date

/// The time formats of AWS: SigV4's `yyyyMMdd'T'HHmmss'Z'` and the ISO-8601 expirations of
/// credential documents, computed from epoch seconds so that no locale or calendar setting matters.
public enum AWSDateFormat {
    /// `20150830T123600Z`: the `X-Amz-Date` header and the string-to-sign time.
    public static func amzDate(_ date: Date) -> String {
        let (day, seconds) = Self.split(date)
        let (year, month, dayOfMonth) = Self.civil(fromDays: day)
        return Self.digits(year, 4) + Self.digits(month, 2) + Self.digits(dayOfMonth, 2) + "T"
            + Self.digits(seconds / 3600, 2) + Self.digits(seconds / 60 % 60, 2) + Self.digits(seconds % 60, 2) + "Z"
    }

    /// `20150830`: the date of the credential scope.
    public static func dateStamp(_ date: Date) -> String {
        String(Self.amzDate(date).prefix(8))
    }

    /// `2015-08-30T12:36:00Z`, or `2015-08-30T12:36:00.123Z` with milliseconds: ISO 8601 in UTC, as
    /// credential documents write expirations and as logs and stream lines write times.
    public static func iso8601(_ date: Date, withMilliseconds: Bool = false) -> String {
        let (day, seconds) = Self.split(date)
        let (year, month, dayOfMonth) = Self.civil(fromDays: day)
        var text =
            Self.digits(year, 4) + "-" + Self.digits(month, 2) + "-" + Self.digits(dayOfMonth, 2) + "T"
            + Self.digits(seconds / 3600, 2) + ":" + Self.digits(seconds / 60 % 60, 2) + ":" + Self.digits(seconds % 60, 2)
        if withMilliseconds {
            let milliseconds = Int((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1000)
            text += "." + Self.digits(min(milliseconds, 999), 3)
        }
        return text + "Z"
    }

    /// Parses `20150830T123600Z`, the `X-Amz-Date` of a received request.
    public static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
            let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[4..<6]),
            let day = Self.number(bytes[6..<8]), let hour = Self.number(bytes[9..<11]),
            let minute = Self.number(bytes[11..<13]), let second = Self.number(bytes[13..<15])
        else { return nil }
        return Self.date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: 0, offset: 0)
    }

    /// Parses an ISO-8601 / RFC 3339 time such as `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123456Z`
    /// or `2024-05-01T12:00:00+02:00`, as credential endpoints and STS write expirations.
    public static func parseISO8601(_ text: String) -> Date? {
        let bytes = Array(text.trimmingASCIIWhitespace().utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[5..<7]),
            let day = Self.number(bytes[8..<10]), let hour = Self.number(bytes[11..<13]),
            let minute = Self.number(bytes[14..<16]), let second = Self.number(bytes[17..<19])
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        let offset: Int
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
            offset = 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = bytes[index] == UInt8(ascii: "+") ? 1 : -1
            let rest = Array(bytes[(index + 1)...].filter { $0 != UInt8(ascii: ":") })
            guard rest.count == 4, let hours = Self.number(rest[0..<2]), let minutes = Self.number(rest[2..<4]) else {
                return nil
            }
            offset = sign * (hours * 3600 + minutes * 60)
        default:
            return nil
        }
        return Self.date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction, offset: offset)
    }

    private static func date(
        year: Int,
        month: Int,
        day: Int,
        hour: Int,
        minute: Int,
        second: Int,
        fraction: Double,
        offset: Int
    ) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        let days = Self.days(fromYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Whole days since 1970-01-01 and seconds into that day.
    private static func split(_ date: Date) -> (days: Int, seconds: Int) {
        let total = Int(date.timeIntervalSince1970.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        return (days, total - days * 86_400)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method: 400-year eras of
    /// 146,097 days, years starting in March so the leap day falls last).
    private static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01; the inverse of `days(fromYear:…)`.
    public static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func number(_ bytes: some Collection<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard let digit = Self.digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }
}
