import NIOCore
import Prometheus

/// The first handler of every client connection, on its raw bytes: it bounds what a slow, silent
/// or stalled client can hold.
///
/// - **Request read timeout**: from the first byte of a request to its last, at most
///   ``Limits/requestReadTimeout``. A request dribbled a byte at a time (head or body) is answered
///   `408 request_timeout` and its connection closed. A new connection must send its first byte
///   within the same time, or it is closed without an answer: one that never sends anything would
///   otherwise hold one of `MAX_CONNECTIONS` for the keep-alive timeout. A keep-alive connection
///   waiting for its next request, after answered ones, is not reading one: the keep-alive
///   timeout bounds it.
/// - **Write stall**: a connection whose output stays above NIO's high-water mark (the client reads
///   nothing, its receive window full) for ``Limits/writeStallTimeout`` is closed, which ends the
///   stream written on it and frees its slot. While a response is under way, output that keeps
///   draining, however slowly, is progress: the time starts again whenever the bytes held went
///   down (the stream's total limit bounds a client that reads a byte now and then). Once the
///   response has ended, only a return below the high-water mark is: nothing else would bound it.
/// - **Shutdown**: ``closeIfReadingRequest()`` answers a request still being received with 503,
///   unless a response is under way on its connection.
///
/// Request boundaries come from ``HTTPMessagePolicyHandler``, after the HTTP decoder: this handler
/// sees bytes, that one sees requests and responses.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    struct Limits: Sendable {
        /// From a request's first byte to its last.
        var requestReadTimeout: Duration
        /// The longest time output may wait on a client that reads nothing.
        var writeStallTimeout: Duration
    }

    private let limits: Limits
    private let metrics: ServiceMetrics
    private var context: ChannelHandlerContext?
    /// Bytes of a request have arrived and its end has not.
    private var readingRequest = false
    /// A response has been started and not finished.
    private var responding = false
    private var readTimer: Scheduled<Void>?
    /// Until the connection's first byte arrives.
    private var firstByteTimer: Scheduled<Void>?
    private var stallTimer: Scheduled<Void>?

    init(limits: Limits, metrics: ServiceMetrics) {
        self.limits = limits
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.armFirstByteTimer(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.armFirstByteTimer(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let firstByteTimer = self.firstByteTimer {
            firstByteTimer.cancel()
            self.firstByteTimer = nil
        }
        if !self.readingRequest {
            self.readingRequest = true
            self.armReadTimer(context: context)
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stallTimer?.cancel()
            self.stallTimer = nil
        } else if self.stallTimer == nil {
            self.armStallTimer(context: context, buffered: Self.bufferedBytes(context))
        }
        context.fireChannelWritabilityChanged()
    }

    /// Closes the connection if, ``Limits/writeStallTimeout`` from now, it is still above the
    /// high-water mark and, unless a response is still under way and some drained, holds at least
    /// the `buffered` bytes it holds now. A stream's client that drained some, however few, has
    /// its time start again.
    private func armStallTimer(context: ChannelHandlerContext, buffered: Int) {
        let loop = context.eventLoop.assumeIsolated()
        self.stallTimer = loop.scheduleTask(in: TimeAmount(self.limits.writeStallTimeout)) { [self] in
            self.stallTimer = nil
            guard let context = self.context, !context.channel.isWritable else { return }
            let left = Self.bufferedBytes(context)
            if self.responding, left < buffered {
                self.armStallTimer(context: context, buffered: left)
                return
            }
            self.metrics.writeStalls.increment()
            context.close(promise: nil)
        }
    }

    /// The bytes the channel holds for its socket (this handler is the one next to it).
    private static func bufferedBytes(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    // MARK: Told by HTTPMessagePolicyHandler

    /// A request's last byte has been decoded.
    func requestEnded() {
        self.readingRequest = false
        self.readTimer?.cancel()
        self.readTimer = nil
    }

    func responseStarted() {
        self.responding = true
    }

    func responseEnded() {
        self.responding = false
    }

    /// Writes and flushes `bytes` as they are, below the HTTP codec (``StreamWriteHandler``'s
    /// chunks, framed already).
    func writeAndFlush(bytes: ByteBuffer) {
        self.context?.writeAndFlush(NIOAny(IOData.byteBuffer(bytes)), promise: nil)
    }

    /// Shutdown: a request still arriving is answered 503 and its connection closed. Not while a
    /// response is under way: a request sent behind it (pipelined) is read once it ends, and
    /// refused by the draining service then; closing now would cut the stream the grace period
    /// is for.
    func closeIfReadingRequest() {
        guard self.readingRequest, !self.responding, let context = self.context else { return }
        self.refuse(context: context, with: Self.shuttingDown)
    }

    // MARK: Timers

    private func armFirstByteTimer(context: ChannelHandlerContext) {
        guard self.firstByteTimer == nil else { return }
        let loop = context.eventLoop.assumeIsolated()
        self.firstByteTimer = loop.scheduleTask(in: TimeAmount(self.limits.requestReadTimeout)) { [self] in
            self.firstByteTimer = nil
            guard let context = self.context else { return }
            self.metrics.requestReadTimeouts.increment()
            context.close(promise: nil)
        }
    }

    private func armReadTimer(context: ChannelHandlerContext) {
        self.readTimer?.cancel()
        let loop = context.eventLoop.assumeIsolated()
        self.readTimer = loop.scheduleTask(in: TimeAmount(self.limits.requestReadTimeout)) { [self] in
            self.readTimer = nil
            guard self.readingRequest, let context = self.context else { return }
            if self.responding {
                // The request being read was sent behind one whose response is still streaming
                // (pipelined); it is read once that response ends, so its time starts again then.
                self.armReadTimer(context: context)
                return
            }
            self.metrics.requestReadTimeouts.increment()
            self.refuse(context: context, with: self.requestTimeout)
        }
    }

    private func cancelTimers() {
        self.firstByteTimer?.cancel()
        self.firstByteTimer = nil
        self.readTimer?.cancel()
        self.readTimer = nil
        self.stallTimer?.cancel()
        self.stallTimer = nil
    }

    /// Writes `response` (unless a response is under way, which it would corrupt) and closes.
    private func refuse(context: ChannelHandlerContext, with response: ByteBuffer) {
        self.readingRequest = false
        if !self.responding {
            context.writeAndFlush(NIOAny(IOData.byteBuffer(response)), promise: nil)
        }
        context.close(promise: nil)
    }

    private var requestTimeout: ByteBuffer {
        let seconds = Int(self.limits.requestReadTimeout / .seconds(1))
        return Self.closingResponse(
            status: "408 Request Timeout",
            code: "request_timeout",
            message: "The request was not received within \(seconds) seconds."
        )
    }

    static let shuttingDown = closingResponse(
        status: "503 Service Unavailable",
        code: "server_shutting_down",
        message: "The service is shutting down; retry on another instance.",
        extraHeaders: "Retry-After: 1\r\n"
    )

    /// A whole HTTP/1.1 response with a JSON error body and `Connection: close`, for the places
    /// that answer below the HTTP codec.
    static func closingResponse(status: String, code: String, message: String, extraHeaders: String = "") -> ByteBuffer {
        var body = APIError.body(code: code, message: message, requestId: nil)
        var response = ByteBuffer()
        response.writeString(
            "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.readableBytes)\r\n"
                + "Connection: close\r\n\(extraHeaders)\r\n"
        )
        response.writeBuffer(&body)
        return response
    }
}
