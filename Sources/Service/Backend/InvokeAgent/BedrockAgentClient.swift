import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The signed InvokeAgent call: credentials from the chain, a SigV4 signature for service
/// `bedrock`, and pooled connections (``AWSHTTPClients``). HTTP errors come back as the
/// ``StreamFailure`` their `x-amzn-ErrorType` names.
struct BedrockAgentClient: Sendable {
    let clients: AWSHTTPClients
    let credentials: any CredentialProvider
    let signer: SigV4Signer
    /// The Bedrock Agent Runtime base URL, without a trailing slash.
    let endpoint: String
    /// A backstop for the whole call; the stream's own watchdog enforces the real timeouts.
    let callTimeout: Duration

    /// Sends InvokeAgent for `request` over a connection on `eventLoop`, runs `whenSent` while
    /// Bedrock works on it and, once the response head says 200, lets `read` consume the response.
    /// A stop of `controller` cancels the call at any point.
    func invoke<Result>(
        _ request: StreamRequest,
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController,
        whenSent: () async throws -> Void,
        read: (UpstreamResponse) async throws -> Result
    ) async throws -> Result {
        let credentials: AWSCredentials
        do {
            credentials = try await self.credentials.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StreamFailure(.credentialsUnavailable, detail: "\(error)")
        }
        let signed = try self.signedRequest(request, credentials: credentials)
        return try await self.clients.withBedrockClient(on: eventLoop) { httpClient in
            let response = UpstreamResponse.start(
                signed,
                on: httpClient,
                eventLoop: httpClient.eventLoopGroup.next(),
                deadline: .now() + TimeAmount(self.callTimeout)
            )
            controller.whenStopped { response.cancel() }
            defer {
                controller.whenStopped(nil)
                // A response left unread (an error body cut short, a failed stream) is not read on.
                response.cancel()
            }
            try await whenSent()
            let head: HTTPResponseHead
            do {
                head = try await response.head()
            } catch {
                throw StreamFailure.transport(error, afterHead: false)
            }
            guard head.status == .ok else {
                throw await Self.httpFailure(head, response)
            }
            return try await read(response)
        }
    }

    /// The InvokeAgent request, signed. AsyncHTTPClient's delegate API takes a request type of its
    /// own, which carries the signed URL, headers and body unchanged. Built out of `invoke`'s async
    /// frame (ARCHITECTURE.md, "Async frames on the hot path").
    @inline(never)
    private func signedRequest(_ request: StreamRequest, credentials: AWSCredentials) throws -> HTTPClient.Request {
        do {
            var signable = HTTPClientRequest(url: self.endpoint + request.target.path)
            signable.method = .POST
            signable.headers.add(name: "Content-Type", value: "application/json")
            signable.headers.add(name: "Accept", value: "application/vnd.amazon.eventstream")
            signable.headers.add(name: "User-Agent", value: "bedrock-agent-streaming/\(ServiceVersion.current)")
            let json = request.invokeAgentBody
            try self.signer.sign(&signable, body: json, credentials: credentials)
            return try HTTPClient.Request(url: signable.url, method: signable.method, headers: signable.headers, body: .byteBuffer(json))
        } catch {
            // Signing errors name the URL or a header, never the body.
            throw StreamFailure(.internalError, detail: "cannot build the InvokeAgent request: \(error)")
        }
    }

    /// The failure an error response reports, from its head and up to 64 KiB of its body.
    private static func httpFailure(_ head: HTTPResponseHead, _ response: UpstreamResponse) async -> StreamFailure {
        var body = ByteBuffer()
        while body.readableBytes < 64 * 1024, var part = try? await response.nextBodyPart() {
            body.writeBuffer(&part)
        }
        return StreamFailure.httpError(status: Int(head.status.code), errorTypeHeader: head.headers.first(name: "x-amzn-ErrorType"), body: body)
    }
}
