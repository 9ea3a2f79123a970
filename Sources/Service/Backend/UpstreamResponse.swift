import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// What takes the pieces of an upstream body, one network read at a time, on the event loop the
/// reader was attached on (``UpstreamResponse/read(with:on:)``).
protocol UpstreamBodyReader: AnyObject, Sendable {
    /// A piece of the body. Returns `nil` when the next piece may come at once, or a future that
    /// completes when it may: AsyncHTTPClient reads no further meanwhile.
    func read(_ piece: ByteBuffer) -> EventLoopFuture<Void>?
    /// The body ended, well (`nil`) or with the error that ended it (`CancellationError` after
    /// ``UpstreamResponse/cancel()``). Called once, last.
    func ended(_ error: (any Error)?)
}

/// One upstream response as AsyncHTTPClient's delegate API delivers it on the event loop: the
/// head for the stream's task to wait on, then the body handed to a reader on the event loop, as
/// each network read arrives.
///
/// The delegate API needs no task of its own, and that is why the service uses it: a Swift task
/// keeps the async frames of its deepest call for as long as it lives, so a second task per stream
/// (which the async `execute` needs in order to be cancelled) cost about 17 KB for every open
/// stream. The stream's controller calls ``cancel()`` instead. The body goes to a reader on the
/// event loop rather than to the stream's task, so a relayed piece costs no task switch: the
/// stream's relay turns it into lines and writes them where it arrives (``StreamRelay``).
///
/// Reading is paced by the reader: AsyncHTTPClient delivers the next body part only once the
/// future the reader returned for the previous one has completed, so a client that reads slowly
/// slows the upstream connection down instead of filling memory.
final class UpstreamResponse: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    private struct State {
        /// The head, or the failure that came instead of it.
        var head: Result<HTTPResponseHead, any Error>?
        var headWaiter: CheckedContinuation<Result<HTTPResponseHead, any Error>, Never>?
        /// A body part that arrived before the reader, and the demand AsyncHTTPClient waits on.
        var early: (piece: ByteBuffer, demand: EventLoopPromise<Void>)?
        var reader: (any UpstreamBodyReader)?
        var readerLoop: (any EventLoop)?
        /// How the body ended, once it has (`.some(nil)`: well); it is told to the reader once,
        /// which is then let go.
        var end: (any Error)??
        var call: HTTPClient.Task<Void>?
    }

    private let state = Mutex(State())

    deinit {
        // AsyncHTTPClient may still hold the future of a part that was never read.
        self.state.withLock { $0.early?.demand }?.succeed()
    }

    /// Starts the request on `client`, delivering to the returned response on `eventLoop`, which
    /// must belong to `client`'s group.
    static func start(
        _ request: HTTPClient.Request,
        on client: HTTPClient,
        eventLoop: any EventLoop,
        deadline: NIODeadline
    ) -> UpstreamResponse {
        let response = UpstreamResponse()
        // `.delegate(on:)`, not `.delegateAndChannel(on:)`: AsyncHTTPClient closes a connection made for
        // a request that requires its event loop once the request ends. The pools of
        // ``AWSHTTPClients`` live on one event loop each, so the connection is on it all the same.
        let call = client.execute(request: request, delegate: response, eventLoop: .delegate(on: eventLoop), deadline: deadline, logger: nil)
        response.state.withLock { state in
            // Kept until the call has ended or is cancelled: AsyncHTTPClient holds the delegate meanwhile.
            if state.end == nil {
                state.call = call
            }
        }
        return response
    }

    /// The response head; throws what AsyncHTTPClient reported when there is none
    /// (`CancellationError` after ``cancel()``).
    func head() async throws -> HTTPResponseHead {
        let head = await withCheckedContinuation { continuation in
            let head = self.state.withLock { state in
                if state.head == nil {
                    state.headWaiter = continuation
                }
                return state.head
            }
            if let head {
                continuation.resume(returning: head)
            }
        }
        return try head.get()
    }

    /// Hands the body to `reader` on `eventLoop` (the stream's), from its first piece, whatever
    /// arrived before; once per response, after ``head()``.
    func read(with reader: any UpstreamBodyReader, on eventLoop: any EventLoop) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.read(with: reader, on: eventLoop) }
            return
        }
        let (early, end) = self.state.withLock { state in
            state.reader = reader
            state.readerLoop = eventLoop
            defer { state.early = nil }
            return (state.early, state.end)
        }
        if let (piece, demand) = early {
            if let wait = reader.read(piece) {
                wait.cascade(to: demand)
            } else {
                demand.succeed()
            }
        }
        if let end {
            self.tellEnd(end)
        }
    }

    /// Stops the request unless its body has ended: the head's wait throws `CancellationError` at
    /// once, the reader is told so, and AsyncHTTPClient closes the connection.
    func cancel() {
        let (call, demand, waiter, readerLoop) = self.state.withLock { state in
            guard state.end == nil else {
                return (
                    nil as HTTPClient.Task<Void>?, nil as EventLoopPromise<Void>?,
                    nil as CheckedContinuation<Result<HTTPResponseHead, any Error>, Never>?, nil as (any EventLoop)?
                )
            }
            state.end = .some(CancellationError())
            if state.head == nil {
                state.head = .failure(CancellationError())
            }
            defer {
                state.call = nil
                state.early = nil
                state.headWaiter = nil
            }
            return (state.call, state.early?.demand, state.headWaiter, state.readerLoop)
        }
        waiter?.resume(returning: .failure(CancellationError()))
        demand?.succeed()
        call?.cancel()
        if let readerLoop {
            readerLoop.execute { self.tellEnd(CancellationError()) }
        }
    }

    /// Tells the reader how the body ended, once; on the reader's loop. The reader is let go:
    /// it holds the attempt, which holds this response.
    private func tellEnd(_ end: (any Error)?) {
        let reader = self.state.withLock { state -> (any UpstreamBodyReader)? in
            guard let reader = state.reader else { return nil }
            state.reader = nil
            return reader
        }
        reader?.ended(end)
    }

    /// The body ended (`nil`: well): the head's wait and the reader, if any, are told.
    private func ended(_ error: (any Error)?) {
        let (waiter, readerLoop) = self.state.withLock {
            state -> (CheckedContinuation<Result<HTTPResponseHead, any Error>, Never>?, (any EventLoop)?) in
            guard state.end == nil else { return (nil, nil) }
            state.end = .some(error)
            state.call = nil
            if state.head == nil {
                state.head = .failure(error ?? HTTPClientError.remoteConnectionClosed)
            }
            defer { state.headWaiter = nil }
            return (state.headWaiter, state.readerLoop)
        }
        waiter?.resume(returning: .failure(error ?? HTTPClientError.remoteConnectionClosed))
        guard let readerLoop else { return }
        if readerLoop.inEventLoop {
            self.tellEnd(error)
        } else {
            readerLoop.execute { self.tellEnd(error) }
        }
    }

    // MARK: HTTPClientResponseDelegate (on the event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let waiter = self.state.withLock { state in
            guard state.head == nil else { return nil as CheckedContinuation<Result<HTTPResponseHead, any Error>, Never>? }
            state.head = .success(head)
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        waiter?.resume(returning: .success(head))
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        enum Delivery {
            case read(any UpstreamBodyReader, on: any EventLoop)
            case wait(EventLoopFuture<Void>)
            case drop
        }
        let delivery = self.state.withLock { state -> Delivery in
            guard state.end == nil else { return .drop }
            if let reader = state.reader, let loop = state.readerLoop {
                return .read(reader, on: loop)
            }
            let demand = task.eventLoop.makePromise(of: Void.self)
            state.early = (buffer, demand)
            return .wait(demand.futureResult)
        }
        switch delivery {
        case .read(let reader, let loop) where loop === task.eventLoop:
            return reader.read(buffer) ?? task.eventLoop.makeSucceededVoidFuture()
        case .read(let reader, let loop):
            // The reader's loop is not the connection's (only when the service's loops and the
            // pool's differ): the piece hops over.
            return loop.flatSubmit { reader.read(buffer) ?? loop.makeSucceededVoidFuture() }.hop(to: task.eventLoop)
        case .wait(let future):
            return future
        case .drop:
            return task.eventLoop.makeSucceededVoidFuture()
        }
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        self.ended(error)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        self.ended(nil)
    }
}
