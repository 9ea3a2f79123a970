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
/// Only the lines of an answer's events go this way. The head, the `start` line and the terminal
/// line go through Hummingbird's writer, before the relay begins and after it has ended, so the
/// order of the bytes is the order they were written in.
final class StreamWriteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = HTTPServerResponsePart

    private var context: ChannelHandlerContext?
    /// Run once the channel can take more, or has closed.
    private var onWritable: (() -> Void)?

    /// The channel is open: writing to it is worth it.
    var isActive: Bool {
        self.context?.channel.isActive ?? false
    }

    /// Writes and flushes `body` as part of the response's body. Returns whether the channel can
    /// take more at once (below its high-water mark, and open).
    func write(_ body: ByteBuffer) -> Bool {
        guard let context else { return false }
        context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        return context.channel.isWritable && context.channel.isActive
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
