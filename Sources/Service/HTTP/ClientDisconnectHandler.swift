import NIOCore
import Synchronization

/// Stops the stream being written on a connection as soon as its client closes the connection.
///
/// While Hummingbird writes a response it asks nothing of the connection's inbound side, but NIO
/// still reads the socket, so a client's close arrives here: as the end of its input (Hummingbird
/// allows half-closed connections) or as the channel going inactive after a reset. Watching for it
/// here, rather than by taking over the request's inbound stream, cancels the Bedrock request at
/// once, even during a long silence upstream, and leaves the connection usable for the client's
/// next request (keep-alive).
final class ClientDisconnectHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private enum State {
        case open(watching: StreamController?)
        case closed
    }

    private let state = Mutex(State.open(watching: nil))

    /// Stops `controller` when the client goes away, at once if it already has. HTTP/1 serves one
    /// request at a time on a connection, so this replaces any stream watched before.
    func watch(_ controller: StreamController) {
        let closed = self.state.withLock { state in
            switch state {
            case .open:
                state = .open(watching: controller)
                return false
            case .closed:
                return true
            }
        }
        if closed {
            controller.stop(.clientDisconnected)
        }
    }

    /// The stream has ended: the connection may carry other requests, and this one is forgotten.
    func stopWatching(_ controller: StreamController) {
        self.state.withLock { state in
            if case .open(let watched?) = state, watched === controller {
                state = .open(watching: nil)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            self.clientLeft()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.clientLeft()
        context.fireChannelInactive()
    }

    private func clientLeft() {
        let watched = self.state.withLock { state -> StreamController? in
            defer { state = .closed }
            if case .open(let watched) = state { return watched }
            return nil
        }
        watched?.stop(.clientDisconnected)
    }
}
