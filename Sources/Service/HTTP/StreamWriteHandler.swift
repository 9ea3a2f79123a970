import NIOCore
import NIOHTTP1

/// Writes a stream's lines straight into its connection's pipeline, on the connection's event
/// loop, and says when the client can take more.
///
/// Hummingbird's response writer hands every write from the handler's task to the channel through
/// an `NIOAsyncWriter`: for a relayed chunk that is a task switch to read the upstream piece, then
/// the writer's lock, state machine and the handlers above this one, each converting or checking
/// the part. The stream's relay (``StreamRelay``) runs on the event loop where the upstream's
/// pieces arrive and writes here instead, from this handler's place in the pipeline: right behind
/// ``HTTPMessagePolicyHandler`` (which still sees every part), next to NIO's HTTP encoder. A head
/// that ``ResponseHeadFlushHandler`` holds back still leaves with the first line: a flush sends
/// whatever the channel holds. The relay keeps to NIO's writability itself: once the
/// channel holds more than its high-water mark, the relay waits for ``whenWritable(_:)`` before it
/// writes again or lets the upstream read go on, so a client that reads slowly slows its upstream
/// read down instead of filling memory.
///
/// When NIO's encoder would write the body in chunks (``HTTPMessagePolicyHandler/chunkedBody``, an
/// HTTP/1.1 response), the lines are framed here instead, in the room ``buffer(capacity:)`` leaves
/// before them, and written below the HTTP codec (``ConnectionGuardHandler/writeAndFlush(bytes:)``):
/// one buffer and one `writev` vector a write instead of the encoder's three, no hexadecimal
/// `String`, and no handler between. Otherwise (HTTP/1.0, whose body the close delimits, or a
/// buffer without the room) they go through the codec as a body part.
///
/// Only the lines of an answer's events go this way. The head, the `start` line and the terminal
/// line go through Hummingbird's writer, before the relay begins and after it has ended, so the
/// order of the bytes is the order they were written in.
final class StreamWriteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = HTTPServerResponsePart

    private var context: ChannelHandlerContext?
    /// Run once the channel can take more, or has closed.
    private var onWritable: (() -> Void)?
    /// Whether the response's body is chunked; `nil` when this handler is used alone.
    private let policy: HTTPMessagePolicyHandler?
    /// Where framed chunks are written, below the HTTP codec.
    private let rawBytes: ConnectionGuardHandler?

    /// The room a buffer of lines keeps before them for its chunk's size line: the size in up to
    /// 8 hexadecimal digits (4 GiB), then CRLF.
    static let framingRoom = 10

    init(policy: HTTPMessagePolicyHandler? = nil, rawBytes: ConnectionGuardHandler? = nil) {
        self.policy = policy
        self.rawBytes = rawBytes
    }

    /// A buffer for lines, with the room before them that a chunk's size line takes.
    static func buffer(capacity: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity + Self.framingRoom + 2)
        buffer.moveWriterIndex(forwardBy: Self.framingRoom)
        buffer.moveReaderIndex(forwardBy: Self.framingRoom)
        return buffer
    }

    /// The channel is open: writing to it is worth it.
    var isActive: Bool {
        self.context?.channel.isActive ?? false
    }

    /// Writes and flushes `body` as part of the response's body (framed in place when the body is
    /// chunked). Returns whether the channel can take more at once (below its high-water mark,
    /// and open).
    func write(_ body: inout ByteBuffer) -> Bool {
        guard let context else { return false }
        if let policy, policy.chunkedBody, let rawBytes, Self.frame(&body) {
            rawBytes.writeAndFlush(bytes: body)
        } else {
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        return context.channel.isWritable && context.channel.isActive
    }

    /// Makes `body` one HTTP/1.1 chunk (RFC 9112, section 7.1): its size in hexadecimal and CRLF,
    /// written into the room before it, then the bytes and CRLF, in place. False, and `body`
    /// untouched, for an empty body (which would end the response) or one without the room.
    static func frame(_ body: inout ByteBuffer) -> Bool {
        let size = body.readableBytes
        guard size > 0, size <= 0xFFFF_FFFF else { return false }
        let digits = (Int.bitWidth - size.leadingZeroBitCount + 3) / 4
        guard body.readerIndex >= digits + 2 else { return false }
        let start = body.readerIndex - digits - 2
        var remaining = size
        for index in stride(from: start + digits - 1, through: start, by: -1) {
            let digit = UInt8(remaining & 0xF)
            body.setInteger(digit < 10 ? digit + UInt8(ascii: "0") : digit - 10 + UInt8(ascii: "a"), at: index)
            remaining >>= 4
        }
        body.setInteger(UInt16(0x0D0A), at: start + digits)
        body.moveReaderIndex(to: start)
        body.writeInteger(UInt16(0x0D0A))
        return true
    }

    /// Runs `action` once the channel can take more or has closed: at once when it already can
    /// (or is closed); replaces an action waiting before.
    func whenWritable(_ action: @escaping () -> Void) {
        guard let context, context.channel.isActive, !context.channel.isWritable else {
            action()
            return
        }
        self.onWritable = action
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.runWaiting()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.runWaiting()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.runWaiting()
        context.fireChannelInactive()
    }

    private func runWaiting() {
        let action = self.onWritable
        self.onWritable = nil
        action?()
    }
}
