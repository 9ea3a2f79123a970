import AWSAccess
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What every backend's call to AWS does alike: credentials from the chain, a SigV4 signature for
/// the backend's service, a pooled connection on the client's event loop (``AWSHTTPClients``),
/// and the answer read one network read at a time (``UpstreamResponse``), stopped by the stream's
/// controller. Each backend adds its URL, headers and body, and reads the answer its own way.
struct SignedUpstreamCall: Sendable {
    let clients: AWSHTTPClients
    let credentials: any CredentialProvider
    let signer: SigV4Signer
    /// A backstop for the whole call; the stream's own watchdog enforces the real timeouts.
    let callTimeout: Duration

    /// Signs and starts `POST url` with `headers` and `body`. Throws the ``StreamFailure`` that
    /// prevents sending (no credentials), or `CancellationError`.
    func start(
        url: String,
        headers: [(String, String)],
        body: ByteBuffer,
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController,
        operation: String
    ) async throws -> UpstreamCall {
        let credentials: AWSCredentials
        do {
            credentials = try await self.credentials.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StreamFailure.credentialsUnavailable(error)
        }
        return try self.begin(
            url: url,
            headers: headers,
            body: body,
            credentials: credentials,
            on: eventLoop,
            controller: controller,
            operation: operation
        )
    }

    /// Out of `start`'s async frame (ARCHITECTURE.md, "Async frames on the hot path").
    @inline(never)
    private func begin(
        url: String,
        headers: [(String, String)],
        body: ByteBuffer,
        credentials: AWSCredentials,
        on eventLoop: any EventLoop,
        controller: StreamController,
        operation: String
    ) throws -> UpstreamCall {
        let signed: HTTPClient.Request
        do {
            var signable = HTTPClientRequest(url: url)
            signable.method = .POST
            for (name, value) in headers {
                signable.headers.add(name: name, value: value)
            }
            signable.headers.add(name: "User-Agent", value: "bedrock-agent-streaming/\(ServiceVersion.current)")
            try self.signer.sign(&signable, body: body, credentials: credentials)
            signed = try HTTPClient.Request(url: signable.url, method: signable.method, headers: signable.headers, body: .byteBuffer(body))
        } catch {
            // Signing errors name the URL or a header, never the body.
            throw StreamFailure(.internalError, detail: "cannot build the \(operation) request: \(error)")
        }
        let lease = self.clients.leaseBedrockClient(on: eventLoop)
        let response = UpstreamResponse.start(
            signed,
            on: lease.client,
            eventLoop: lease.client.eventLoopGroup.next(),
            deadline: .now() + TimeAmount(self.callTimeout)
        )
        return UpstreamCall(response: response, lease: lease, controller: controller)
    }
}

/// One call's answer as a backend's attempt reads it: the head, then the body's pieces handed to a
/// reader on the stream's event loop, or an error body; a stop of the stream's controller cancels
/// the call.
final class UpstreamCall {
    private let response: UpstreamResponse
    private let lease: AWSHTTPClients.Lease
    private let controller: StreamController
    private var closed = false

    init(response: UpstreamResponse, lease: AWSHTTPClients.Lease, controller: StreamController) {
        self.response = response
        self.lease = lease
        self.controller = controller
        controller.whenStopped { response.cancel() }
    }

    deinit {
        self.close()
    }

    /// The response head; a transport failure is the ``StreamFailure`` it means (or `CancellationError`).
    private func head() async throws -> HTTPResponseHead {
        do {
            return try await self.response.head()
        } catch {
            throw StreamFailure.transport(error, afterHead: false)
        }
    }

    /// Hands the body to `reader`, on `eventLoop`, from its first piece on.
    func read(with reader: any UpstreamBodyReader, on eventLoop: any EventLoop) {
        self.response.read(with: reader, on: eventLoop)
    }

    /// The head of a 200 answer. Any other is read as an AWS error (its status, `x-amzn-ErrorType`
    /// and up to 64 KiB of body) and thrown as the failure `classify` makes of it.
    func successHead(
        classifiedBy classify: (_ status: Int, _ errorType: String?, _ body: ByteBuffer) -> StreamFailure
    ) async throws -> HTTPResponseHead {
        let head = try await self.head()
        guard head.status == .ok else {
            let body = await self.errorBody()
            throw classify(Int(head.status.code), head.headers.first(name: "x-amzn-ErrorType"), body)
        }
        return head
    }

    /// Up to 64 KiB of an error answer's body, whatever arrived before it ended or failed.
    private func errorBody() async -> ByteBuffer {
        await withCheckedContinuation { continuation in
            self.response.read(with: ErrorBodyReader(limit: 64 * 1024, continuation), on: self.controller.eventLoop)
        }
    }

    /// Gives the pool its stream back and cancels whatever was left unread. Once.
    func close() {
        guard !self.closed else { return }
        self.closed = true
        self.controller.whenStopped(nil)
        self.response.cancel()
        self.lease.release()
    }
}

/// Collects an error answer's body, up to a limit: the rest is not waited for.
private final class ErrorBodyReader: UpstreamBodyReader, @unchecked Sendable {
    // Only touched on the reader's event loop.
    private var body = ByteBuffer()
    private var continuation: CheckedContinuation<ByteBuffer, Never>?
    private let limit: Int

    init(limit: Int, _ continuation: CheckedContinuation<ByteBuffer, Never>) {
        self.limit = limit
        self.continuation = continuation
    }

    func read(_ piece: ByteBuffer) -> EventLoopFuture<Void>? {
        guard self.continuation != nil else { return nil }
        var piece = piece
        self.body.writeBuffer(&piece)
        if self.body.readableBytes >= self.limit {
            self.finish()
        }
        return nil
    }

    func ended(_ error: (any Error)?) {
        self.finish()
    }

    private func finish() {
        self.continuation?.resume(returning: self.body)
        self.continuation = nil
    }
}

/// An attempt that reads its answer from an ``UpstreamCall``, each piece decoded by the backend's
/// own format as it arrives, on the stream's event loop.
protocol UpstreamAttempt: AgentAttempt {
    var call: UpstreamCall { get }
    /// Appends the events that `piece` completes (`nil`: the body ended), and says whether more
    /// may follow.
    func decode(_ piece: ByteBuffer?, into events: inout [AgentEvent]) -> AttemptRead
}

extension UpstreamAttempt {
    func relay(to sink: any AttemptSink, on eventLoop: any EventLoop) async -> AttemptRead {
        await withCheckedContinuation { continuation in
            self.call.read(with: AttemptBodyReader(attempt: self, sink: sink, continuation), on: eventLoop)
        }
    }

    func close() {
        self.call.close()
    }
}

/// The body of an upstream attempt, decoded into events piece by piece and handed to the stream's
/// sink; the next piece is read once the sink can take more. It reports how the answer ended once
/// the sink has taken everything before the end.
private final class AttemptBodyReader<Attempt: UpstreamAttempt>: UpstreamBodyReader, @unchecked Sendable {
    // Only touched on the stream's event loop.
    private let attempt: Attempt
    private let sink: any AttemptSink
    private var events: [AgentEvent] = []
    private var continuation: CheckedContinuation<AttemptRead, Never>?
    /// The sink's wait to take more, while it lasts.
    private var sinkWait: EventLoopFuture<Void>?

    init(attempt: Attempt, sink: any AttemptSink, _ continuation: CheckedContinuation<AttemptRead, Never>) {
        self.attempt = attempt
        self.sink = sink
        self.continuation = continuation
    }

    func read(_ piece: ByteBuffer) -> EventLoopFuture<Void>? {
        // After a failure in an earlier piece, what follows is not read.
        guard self.continuation != nil else { return nil }
        let read = self.attempt.decode(piece, into: &self.events)
        let wait = self.take()
        if case .more = read {
            return wait
        }
        // Events before a failure are part of the answer: they are taken first. The read stays
        // paced by them until the stream, told, closes the call.
        self.finish(read)
        return wait
    }

    func ended(_ error: (any Error)?) {
        guard self.continuation != nil else { return }
        guard let error else {
            let read = self.attempt.decode(nil, into: &self.events)
            self.take()
            self.finish(read)
            return
        }
        guard let failure = StreamFailure.transport(error, afterHead: true) as? StreamFailure else {
            self.finish(.cancelled)
            return
        }
        self.finish(.failed(failure))
    }

    /// Hands the events decoded so far to the sink; returns its wait, if it must.
    @discardableResult
    private func take() -> EventLoopFuture<Void>? {
        guard !self.events.isEmpty else { return nil }
        let wait = self.sink.take(&self.events)
        self.sinkWait = wait
        wait?.assumeIsolated().whenComplete { [self] _ in
            if self.sinkWait === wait {
                self.sinkWait = nil
            }
        }
        return wait
    }

    /// Reports `read` once the sink has taken what came before it.
    private func finish(_ read: AttemptRead) {
        guard let continuation = self.continuation else { return }
        self.continuation = nil
        guard let wait = self.sinkWait else {
            continuation.resume(returning: read)
            return
        }
        wait.whenComplete { _ in continuation.resume(returning: read) }
    }
}
