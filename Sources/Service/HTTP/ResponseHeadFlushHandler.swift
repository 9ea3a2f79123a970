import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Sends a response's head together with the first part of its body.
///
/// Hummingbird flushes the head of a body it streams on its own, before it runs the body (here every
/// body is streamed: ``RequestLog`` wraps each), so every response would take one write
/// more than it needs, and its client would wake for a head with nothing after it. Here the
/// flush of a final head is held back until the next part (body or end) is flushed, and both leave
/// in one system call. Every body this service writes starts at once: a buffer, or a stream's
/// `start` line as soon as its Bedrock request is on its way (``AgentStream``).
final class ResponseHeadFlushHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A final head was written and nothing after it.
    private var headAlone = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let head):
            self.headAlone = head.status.kind != .informational
        case .body, .end:
            self.headAlone = false
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if !self.headAlone {
            context.flush()
        }
    }
}
