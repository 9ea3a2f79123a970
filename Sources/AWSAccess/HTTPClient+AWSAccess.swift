import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension HTTPClient {
    /// A complete answer to a small request: the status and the whole body.
    struct CollectedResponse: Sendable {
        let status: HTTPResponseStatus
        let body: ByteBuffer

        /// The body as UTF-8 text.
        var text: String { String(buffer: self.body) }
    }

    /// Sends a small request (credential endpoints, STS) and collects its answer, within one
    /// timeout that covers connecting, the head and the body.
    ///
    /// Failures become ``AWSAccessError`` whose detail begins with `source`; cancellation of the
    /// calling task is passed on as `CancellationError`.
    /// - Parameters:
    ///   - request: The request.
    ///   - timeout: The most the whole exchange may take.
    ///   - source: Who is asking, for error details (a ``CredentialSource`` description, `STS …`).
    ///   - maxBodySize: The largest body accepted.
    func collect(
        _ request: HTTPClientRequest,
        timeout: Duration,
        source: String,
        maxBodySize: Int = 1 << 20
    ) async throws -> CollectedResponse {
        let endpoint = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.url
        let timedOut = AWSAccessError.timedOut("\(source): no complete answer from \(endpoint) within \(timeout)")
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        do {
            // AsyncHTTPClient's deadline covers connecting (retried until then) and the head; the
            // task group bounds the body by the same deadline.
            let response = try await self.execute(request, deadline: deadline)
            return try await withThrowingTaskGroup(of: CollectedResponse?.self) { group in
                group.addTask {
                    let body = try await response.body.collect(upTo: maxBodySize)
                    return CollectedResponse(status: response.status, body: body)
                }
                group.addTask {
                    try await _Concurrency.Task.sleep(for: .nanoseconds(max(0, (deadline - NIODeadline.now()).nanoseconds)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let response = try await group.next() ?? nil else { throw timedOut }
                return response
            }
        } catch let error as AWSAccessError {
            throw error
        } catch _ where _Concurrency.Task.isCancelled {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .connectTimeout || error == .deadlineExceeded || error == .readTimeout {
            throw timedOut
        } catch {
            throw AWSAccessError.requestFailed("\(source): request to \(endpoint) failed: \(error)")
        }
    }
}
