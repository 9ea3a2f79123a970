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
    /// A backstop for the response head; the stream's own watchdog enforces the real timeouts.
    let headTimeout: Duration

    /// Sends InvokeAgent over a connection on `eventLoop` and, once the response head says 200,
    /// lets `read` consume the response.
    func invoke<Result>(
        _ target: InvokeAgentTarget,
        _ body: InvokeAgentRequest,
        on eventLoop: any EventLoop,
        read: (HTTPClientResponse) async throws -> Result
    ) async throws -> Result {
        let credentials: AWSCredentials
        do {
            credentials = try await self.credentials.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StreamFailure(.credentialsUnavailable, detail: "\(error)")
        }
        var request = HTTPClientRequest(url: self.endpoint + target.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/vnd.amazon.eventstream")
        request.headers.add(name: "User-Agent", value: "bedrock-agent-streaming/\(ServiceVersion.current)")
        let json: ByteBuffer
        do {
            json = ByteBuffer(data: try JSONEncoder().encode(body))
            try self.signer.sign(&request, body: json, credentials: credentials)
        } catch {
            throw StreamFailure(.internalError, detail: "cannot build the InvokeAgent request: \(error)")
        }

        return try await self.clients.withBedrockClient(on: eventLoop) { httpClient in
            let response: HTTPClientResponse
            do {
                response = try await httpClient.execute(request, timeout: .init(self.headTimeout))
            } catch {
                throw Self.transportFailure(error, afterHead: false)
            }
            guard response.status == .ok else {
                throw await Self.httpFailure(response)
            }
            return try await read(response)
        }
    }

    /// What a transport error means for the stream: before the response head it is a failure to
    /// connect; after it, the stream was cut.
    static func transportFailure(_ error: any Error, afterHead: Bool) -> any Error {
        if error is CancellationError || (error as? HTTPClientError) == .cancelled {
            return CancellationError()
        }
        let detail = "\(error)"
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .getConnectionFromPoolTimeout:
                return StreamFailure(afterHead ? .streamCut : .connectTimeout, detail: detail)
            case .readTimeout:
                return StreamFailure(.idleTimeout, detail: detail)
            default:
                break
            }
        }
        if case .connectTimeout? = error as? ChannelError {
            return StreamFailure(.connectTimeout, detail: detail)
        }
        return StreamFailure(afterHead ? .streamCut : .connectFailed, detail: detail)
    }

    /// The failure an error response reports: the modeled exception its `x-amzn-ErrorType` (or JSON
    /// `__type`) names, else an unknown error that is transient when the status is 429 or 5xx.
    private static func httpFailure(_ response: HTTPClientResponse) async -> StreamFailure {
        let body = (try? await response.body.collect(upTo: 64 * 1024)) ?? ByteBuffer()
        struct ErrorDocument: Decodable {
            var message: String?
            var Message: String?
            var __type: String?
        }
        let document = try? JSONDecoder().decode(ErrorDocument.self, from: Data(buffer: body))
        let type = response.headers.first(name: "x-amzn-ErrorType") ?? document?.__type ?? ""
        let detail = "HTTP \(response.status.code) \(type): \(document?.message ?? document?.Message ?? String(buffer: body))"
        if let exception = BedrockException(errorType: type.split(separator: "#").last.map(String.init) ?? type) {
            return StreamFailure(.bedrock(exception), detail: detail)
        }
        let transient = response.status.code == 429 || response.status.code >= 500
        return StreamFailure(transient ? .upstreamUnavailable : .unknownUpstreamError, detail: detail)
    }
}
