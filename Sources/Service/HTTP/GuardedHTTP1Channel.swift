import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 child channel with this service's guards around it: each accepted
/// connection is admitted against `MAX_CONNECTIONS` (``OpenConnections``) before anything else is
/// set up, and gets ``ConnectionGuardHandler`` in front of the HTTP codec and
/// ``HTTPMessagePolicyHandler`` right behind it, followed by the ``StreamWriteHandler`` that a
/// stream's lines are written from.
///
/// A refused connection gets a fixed `503 too_many_connections` and is closed; its task in
/// Hummingbird's server ends at once.
struct GuardedHTTP1Channel: ServerChildChannel {
    enum Value: ServerChildChannelValue {
        case http(HTTP1Channel.Value)
        case refused(any Channel)

        var channel: any Channel {
            switch self {
            case .http(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    let http1: HTTP1Channel
    let connections: OpenConnections
    let limits: ConnectionGuardHandler.Limits
    let metrics: ServiceMetrics

    /// The buffers a client connection reads into. NIO keeps the last one for the next read, for
    /// as long as the connection lives, and what a client sends is a request head and a small
    /// JSON body: 1 KiB to start with (NIO's default is 2 KiB) keeps 1 KiB less for each held
    /// stream, and a larger request grows the buffer as NIO's default would.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1_024, maximum: 65_536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardHandler = ConnectionGuardHandler(limits: self.limits, metrics: self.metrics)
        if case .failure(let refusal) = self.connections.admit(channel, guardHandler: guardHandler) {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler(refusal))
                return .refused(channel)
            }
        }
        // NIO runs a child channel's set-up on its event loop.
        do {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            try channel.pipeline.syncOperations.addHandler(guardHandler)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return self.http1.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let policy = HTTPMessagePolicyHandler(guardHandler: guardHandler)
            try channel.pipeline.syncOperations.addHandler(policy, position: .after(decoder.handler))
            try channel.pipeline.syncOperations.addHandler(StreamWriteHandler(policy: policy, rawBytes: guardHandler), position: .after(policy))
            return Value.http(value)
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        switch value {
        case .http(let http): await self.http1.handle(value: http, logger: logger)
        case .refused: break
        }
    }
}

/// Answers a connection over the cap with a fixed 503 and closes it, reading nothing.
private final class RefusedConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private static let full = ConnectionGuardHandler.closingResponse(
        status: "503 Service Unavailable",
        code: "too_many_connections",
        message: "The service has as many open connections as it may; retry shortly.",
        extraHeaders: "Retry-After: 1\r\n"
    )

    private let response: ByteBuffer

    init(_ refusal: OpenConnections.Refusal) {
        switch refusal {
        case .full: self.response = Self.full
        case .shuttingDown: self.response = ConnectionGuardHandler.shuttingDown
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.refuse(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.refuse(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private var refused = false

    private func refuse(context: ChannelHandlerContext) {
        guard !self.refused else { return }
        self.refused = true
        context.writeAndFlush(NIOAny(IOData.byteBuffer(self.response))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
