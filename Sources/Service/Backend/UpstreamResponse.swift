import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// One InvokeAgent response as AsyncHTTPClient's delegate API delivers it on the event loop, handed
/// to the stream's task one network read at a time.
///
/// The delegate API needs no task of its own, and that is why the service uses it: a Swift task
/// keeps the async frames of its deepest call for as long as it lives, so a second task per stream
/// (which the async `execute` needs in order to be cancelled) cost about 17 KB for every open
/// stream. The stream's controller calls ``cancel()`` instead.
///
/// Reading is paced by the stream: AsyncHTTPClient delivers the next body part only once the
/// stream has taken the previous one, so a client that reads slowly slows the Bedrock connection
/// down instead of filling memory.
final class UpstreamResponse: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    private enum Part {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end
        case failed(any Error)
        /// ``nudge()``: the reader is woken with nothing read.
        case nudge
    }

    private struct State {
        /// At most the head, one body part and the end: AsyncHTTPClient waits for `demand`.
        var parts: [Part] = []
        var reader: CheckedContinuation<Part, Never>?
        /// Completed when the stream takes the body part AsyncHTTPClient is waiting on.
        var demand: EventLoopPromise<Void>?
        var call: HTTPClient.Task<Void>?
        /// The end or the failure, once queued: nothing after it is delivered, and a read after it
        /// gets it again.
        var final: Part?

        /// The next part to read: the queued ones in order, then the final one again. Taking a
        /// body part also takes the demand that lets AsyncHTTPClient deliver the next one.
        mutating func takeQueued() -> (Part, EventLoopPromise<Void>?)? {
            guard !self.parts.isEmpty else {
                return self.final.map { ($0, nil) }
            }
            let part = self.parts.removeFirst()
            guard case .body = part else { return (part, nil) }
            defer { self.demand = nil }
            return (part, self.demand)
        }
    }

    private let state = Mutex(State())

    deinit {
        // AsyncHTTPClient may still hold the future of a part that was never taken.
        self.state.withLock { $0.demand }?.succeed()
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
            if state.final == nil {
                state.call = call
            }
        }
        return response
    }

    /// The response head; throws what AsyncHTTPClient reported when there is none.
    func head() async throws -> HTTPResponseHead {
        while true {
            switch await self.next() {
            case .head(let head): return head
            case .failed(let error): throw error
            case .nudge: continue
            case .body, .end: throw StreamFailure(.internalError, detail: "AsyncHTTPClient delivered a body before the head")
            }
        }
    }

    /// The next piece of the body as it was read from the network (empty when ``nudge()`` woke
    /// the read), or `nil` at its end; throws what AsyncHTTPClient reported (`CancellationError`
    /// after ``cancel()``).
    func nextBodyPart() async throws -> ByteBuffer? {
        switch await self.next() {
        case .body(let buffer): return buffer
        case .nudge: return ByteBuffer()
        case .end: return nil
        case .failed(let error): throw error
        case .head: throw StreamFailure(.internalError, detail: "AsyncHTTPClient delivered a second head")
        }
    }

    /// Stops the request unless the stream has read its end: the stream's next read throws
    /// `CancellationError` at once, whatever was still queued, and AsyncHTTPClient closes the
    /// connection.
    func cancel() {
        let (call, reader, demand) = self.state.withLock { state in
            guard state.final == nil || !state.parts.isEmpty else {
                return (nil as HTTPClient.Task<Void>?, nil as CheckedContinuation<Part, Never>?, nil as EventLoopPromise<Void>?)
            }
            state.parts = []
            state.final = .failed(CancellationError())
            defer {
                state.reader = nil
                state.demand = nil
                state.call = nil
            }
            return (state.call, state.reader, state.demand)
        }
        reader?.resume(returning: .failed(CancellationError()))
        demand?.succeed()
        call?.cancel()
    }

    /// Wakes a read that is waiting, with nothing read (the stream has a heartbeat to write);
    /// does nothing when no read waits.
    func nudge() {
        let reader = self.state.withLock { state in
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: .nudge)
    }

    private func next() async -> Part {
        if let (queued, demand) = self.state.withLock({ $0.takeQueued() }) {
            demand?.succeed()
            return queued
        }
        return await withCheckedContinuation { continuation in
            let queued = self.state.withLock { state -> (Part, EventLoopPromise<Void>?)? in
                if let queued = state.takeQueued() {
                    return queued
                }
                state.reader = continuation
                return nil
            }
            if let (part, demand) = queued {
                demand?.succeed()
                continuation.resume(returning: part)
            }
        }
    }

    /// Hands `part` to a waiting reader, or queues it; `closing` parts end the delivery.
    private func deliver(_ part: Part, demand: EventLoopPromise<Void>? = nil, closing: Bool = false) -> Bool {
        let reader = self.state.withLock { state -> CheckedContinuation<Part, Never>?? in
            guard state.final == nil else { return .none }
            if closing {
                state.final = part
                state.call = nil
            }
            if let reader = state.reader {
                state.reader = nil
                return .some(reader)
            }
            state.parts.append(part)
            if let demand {
                state.demand = demand
            }
            return .some(nil)
        }
        switch reader {
        case .none:
            return false
        case .some(let reader?):
            reader.resume(returning: part)
            demand?.succeed()
            return true
        case .some(nil):
            return true
        }
    }

    // MARK: HTTPClientResponseDelegate (on the event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        _ = self.deliver(.head(head))
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let demand = task.eventLoop.makePromise(of: Void.self)
        if !self.deliver(.body(buffer), demand: demand) {
            demand.succeed()
        }
        return demand.futureResult
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        _ = self.deliver(.failed(error), closing: true)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        _ = self.deliver(.end, closing: true)
    }
}
