import NIOCore
import NIOHTTP1

/// Between NIO's HTTP/1 codec and Hummingbird, where the protocol version and the framing are still
/// visible: it keeps each response right for its request and tells ``ConnectionGuardHandler`` where
/// requests and responses begin and end.
///
/// - **HTTP/1.0** (RFC 9112, section 6.1): chunked transfer coding is not sent to a 1.0 client, so a
///   response without a length is written as `HTTP/1.0` with `Connection: close`, its body
///   delimited by the close, and the connection is closed after it. Hummingbird always answers
///   1.1 and chunked, and keeps the connection open, so a 1.0 client reading to the end hangs.
/// - **`Connection: close` in a response** (a refusal before the body was read, a malformed
///   body): the connection is closed once that response is written, and nothing written after it
///   (Hummingbird answers a parse error itself too) reaches the client.
final class HTTPMessagePolicyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let guardHandler: ConnectionGuardHandler
    /// The versions of the requests not yet answered, oldest first (pipelined requests queue).
    private var pendingVersions: [HTTPVersion] = []
    /// The response being written ends the connection.
    private var closeAfterResponse = false
    /// The connection's last response is written: nothing more goes out.
    private var finished = false
    /// The response being written has a chunked body, which NIO's encoder frames: a 1.1 response
    /// with a body and no length. ``StreamWriteHandler`` frames its lines itself then.
    private(set) var chunkedBody = false

    init(guardHandler: ConnectionGuardHandler) {
        self.guardHandler = guardHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.pendingVersions.append(head.version)
        case .body:
            break
        case .end:
            self.guardHandler.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !self.finished else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch self.unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            self.guardHandler.responseStarted()
            let version = self.pendingVersions.isEmpty ? .http1_1 : self.pendingVersions.removeFirst()
            if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                self.closeAfterResponse = true
            }
            if version.major == 1 && version.minor == 0 {
                head.version = .http1_0
                head.headers.remove(name: "transfer-encoding")
                head.headers.replaceOrAdd(name: "connection", value: "close")
                self.closeAfterResponse = true
            }
            self.chunkedBody = Self.isChunked(head)
            context.write(self.wrapOutboundOut(.head(head)), promise: promise)
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            self.chunkedBody = false
            self.guardHandler.responseEnded()
            guard self.closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            self.finished = true
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    /// Whether NIO's response encoder (which sets the framing headers itself) writes the body of
    /// `head` in chunks: a status with a body, HTTP/1.1 or later, and no `Content-Length`. Any
    /// other `Transfer-Encoding` than `chunked` is taken as not chunked, to be safe.
    static func isChunked(_ head: HTTPResponseHead) -> Bool {
        let status = head.status.code
        guard status >= 200, status != 204, status != 304 else { return false }
        guard head.version.major == 1, head.version.minor >= 1 else { return false }
        guard !head.headers.contains(name: "content-length") else { return false }
        let codings = head.headers[canonicalForm: "transfer-encoding"]
        return codings.isEmpty || (codings.count == 1 && codings[0].lowercased() == "chunked")
    }
}
