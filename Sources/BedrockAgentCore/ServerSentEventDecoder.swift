import NIOCore

/// Server-Sent Events as the HTML standard reads them, for an AgentCore container's streamed
/// answer: the `data` lines of each event joined with `\n`, dispatched at a blank line; comments,
/// `event`, `id` and `retry` carry nothing this service uses. Lines end with `\n`, `\r\n` or `\r`.
/// The service's AgentCore backend reads with it, and `Fuzz/` fuzzes it.
///
/// An event may be at most ``maximumEventBytes`` long: a container that never ends a line cannot
/// make the service hold its whole answer. At the end of the body, an event that lacks its
/// closing blank line is still dispatched (a container's last event is its answer's end).
public struct ServerSentEventDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// The most one event's lines may hold.
    public static let maximumEventBytes = 1 << 20

    /// The data of the event being read.
    private var data = ByteBuffer()
    private var hasData = false
    /// The previous line ended with `\r`: a `\n` that follows belongs to it.
    private var afterCarriageReturn = false
    /// Readable bytes already searched for a line end: a line that arrives in many reads is
    /// searched once, not once per read.
    private var searched = 0

    public struct EventTooLarge: Error, CustomStringConvertible {
        public var description: String { "an event of the answer is larger than \(ServerSentEventDecoder.maximumEventBytes) bytes" }
    }

    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        while let line = try self.nextLine(&buffer, atEnd: false) {
            if let event = try self.take(line) { return event }
        }
        return nil
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        while let line = try self.nextLine(&buffer, atEnd: true) {
            if let event = try self.take(line) { return event }
        }
        return try self.take(ByteBuffer())
    }

    /// The next complete line (without its end), or `nil` until one has arrived. At the end of the
    /// body, what is left is a line.
    private mutating func nextLine(_ buffer: inout ByteBuffer, atEnd: Bool) throws -> ByteBuffer? {
        // Decided once the next byte is there: a `\n` right after a `\r` ends no second line.
        if self.afterCarriageReturn, let first = buffer.readableBytesView.first {
            if first == UInt8(ascii: "\n") { buffer.moveReaderIndex(forwardBy: 1) }
            self.afterCarriageReturn = false
        }
        let view = buffer.readableBytesView
        let from = view.index(view.startIndex, offsetBy: min(self.searched, view.count))
        guard let end = view[from...].firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
            guard buffer.readableBytes + self.data.readableBytes <= Self.maximumEventBytes else { throw EventTooLarge() }
            self.searched = view.count
            guard atEnd, buffer.readableBytes > 0 else { return nil }
            self.searched = 0
            return buffer.readSlice(length: buffer.readableBytes)
        }
        self.searched = 0
        let length = end - view.startIndex
        let line = buffer.readSlice(length: length)!
        self.afterCarriageReturn = buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\r")
        return line
    }

    /// Takes one line; returns the event a blank line completes.
    private mutating func take(_ line: ByteBuffer) throws -> ByteBuffer? {
        guard line.readableBytes > 0 else {
            guard self.hasData else { return nil }
            defer {
                self.data = ByteBuffer()
                self.hasData = false
            }
            return self.data
        }
        var line = line
        let prefix = Array("data:".utf8)
        guard line.readableBytesView.starts(with: prefix) else { return nil }
        line.moveReaderIndex(forwardBy: prefix.count)
        if line.readableBytesView.first == UInt8(ascii: " ") { line.moveReaderIndex(forwardBy: 1) }
        guard self.data.readableBytes + line.readableBytes < Self.maximumEventBytes else { throw EventTooLarge() }
        if self.hasData { self.data.writeInteger(UInt8(ascii: "\n")) }
        self.data.writeBuffer(&line)
        self.hasData = true
        return nil
    }
}
