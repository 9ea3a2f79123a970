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

/// One call's answer as a backend's attempt reads it: the head, the body's pieces, an error body;
/// a stop of the stream's controller cancels the call, and a due heartbeat wakes a waiting read.
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
        // A heartbeat due wakes the read, which then returns with no events.
        controller.whenHeartbeatDue { response.nudge() }
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

    /// The next piece of the body (`nil` at its end; empty when a heartbeat woke the read), or how
    /// the read failed.
    func nextPiece() async -> Result<ByteBuffer?, AttemptReadFailure> {
        do {
            return .success(try await self.response.nextBodyPart())
        } catch {
            guard let failure = StreamFailure.transport(error, afterHead: true) as? StreamFailure else { return .failure(.cancelled) }
            return .failure(.failed(failure))
        }
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

    /// Up to 64 KiB of an error answer's body.
    private func errorBody() async -> ByteBuffer {
        var body = ByteBuffer()
        while body.readableBytes < 64 * 1024, var part = try? await self.response.nextBodyPart() {
            body.writeBuffer(&part)
        }
        return body
    }

    /// Gives the pool its stream back and cancels whatever was left unread. Once.
    func close() {
        guard !self.closed else { return }
        self.closed = true
        self.controller.whenStopped(nil)
        self.controller.whenHeartbeatDue(nil)
        self.response.cancel()
        self.lease.release()
    }
}

/// An attempt that reads its answer from an ``UpstreamCall`` one piece at a time, each decoded by
/// the backend's own format.
protocol UpstreamAttempt: AgentAttempt {
    var call: UpstreamCall { get }
    /// Appends the events that `piece` completes (`nil`: the body ended), out of `nextEvents`'
    /// async frame (ARCHITECTURE.md, "Async frames on the hot path").
    func decode(_ piece: ByteBuffer?, into events: inout [AgentEvent]) -> AttemptRead
}

extension UpstreamAttempt {
    func nextEvents(into events: inout [AgentEvent]) async -> AttemptRead {
        switch await self.call.nextPiece() {
        case .success(let piece): return self.decode(piece, into: &events)
        case .failure(let failure): return failure.read
        }
    }

    func close() {
        self.call.close()
    }
}

/// Why a read of the body brought nothing: a failure, or the stream was stopped.
enum AttemptReadFailure: Error {
    case failed(StreamFailure)
    case cancelled

    var read: AttemptRead {
        switch self {
        case .failed(let failure): .failed(failure)
        case .cancelled: .cancelled
        }
    }
}
