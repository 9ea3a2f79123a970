import NIOCore

/// Counts accepted connections, so tests and benchmarks can see whether clients reuse them.
final class ConnectionCounter: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private let state: MockState

    init(state: MockState) {
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.state.count(\.connections)
    }
}
