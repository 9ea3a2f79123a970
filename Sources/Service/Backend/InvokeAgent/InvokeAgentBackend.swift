import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Bedrock Agents' InvokeAgent as a backend: credentials from the chain, a SigV4 signature for
/// service `bedrock`, pooled connections (``AWSHTTPClients``), and the answer's event-stream
/// frames as agent events (``InvokeAgentAttempt``).
struct InvokeAgentBackend: AgentBackend {
    let clients: AWSHTTPClients
    let credentials: any CredentialProvider
    let signer: SigV4Signer
    /// The Bedrock Agent Runtime base URL, without a trailing slash.
    let endpoint: String
    /// A backstop for the whole call; the stream's own watchdog enforces the real timeouts.
    let callTimeout: Duration

    func send(
        _ request: StreamRequest,
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) async throws
        -> any AgentAttempt
    {
        let credentials: AWSCredentials
        do {
            credentials = try await self.credentials.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StreamFailure.credentialsUnavailable(error)
        }
        return try self.start(request, credentials: credentials, on: eventLoop, stoppedBy: controller)
    }

    /// Signs the request and starts the call on a pool of `eventLoop`. Out of `send`'s async
    /// frame (ARCHITECTURE.md, "Async frames on the hot path").
    @inline(never)
    private func start(
        _ request: StreamRequest,
        credentials: AWSCredentials,
        on eventLoop: any EventLoop,
        stoppedBy controller: StreamController
    ) throws -> InvokeAgentAttempt {
        let signed = try self.signedRequest(request, credentials: credentials)
        let lease = self.clients.leaseBedrockClient(on: eventLoop)
        let response = UpstreamResponse.start(
            signed,
            on: lease.client,
            eventLoop: lease.client.eventLoopGroup.next(),
            deadline: .now() + TimeAmount(self.callTimeout)
        )
        return InvokeAgentAttempt(response: response, lease: lease, controller: controller)
    }

    /// The InvokeAgent request, signed. AsyncHTTPClient's delegate API takes a request type of its
    /// own, which carries the signed URL, headers and body unchanged.
    private func signedRequest(_ request: StreamRequest, credentials: AWSCredentials) throws -> HTTPClient.Request {
        do {
            var signable = HTTPClientRequest(url: self.endpoint + request.bedrockTarget.path)
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
}
