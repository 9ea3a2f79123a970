import Foundation
import Hummingbird
import Logging
import NIOCore

/// What InvokeAgent and InvokeAgentRuntime, both REST-JSON operations, do alike before their own
/// checks: a request id, the call counted, the body read under a limit and its signature checked
/// for the operation's service, and every refusal answered in the REST-JSON error format.
struct RESTJSONOperation: Sendable {
    /// The operation's name, for the log (`InvokeAgent`).
    let name: String
    /// The SigV4 service name the signature must be scoped to (`bedrock`).
    let service: String
    /// The largest body accepted.
    let maximumBodyBytes: Int
    let state: MockState
    let authenticator: RequestAuthenticator

    /// Serves `POST path` with `handler`, which gets the signed body and the request id.
    func register(
        _ path: RouterPath,
        on router: Router<MockRequestContext>,
        _ handler: @escaping @Sendable (Request, ByteBuffer, MockRequestContext, String) async throws -> Response
    ) {
        router.post(path) { request, context in
            let requestId = UUID().uuidString.lowercased()
            self.state.count(\.invocations)
            do {
                let body = try await self.signedBody(of: request, context: context)
                return try await handler(request, body, context, requestId)
            } catch let error as AWSErrorResponse {
                context.logger.info("\(self.name) refused", metadata: ["type": "\(error.type)", "message": "\(error.message)"])
                return error.response(requestId: requestId)
            }
        }
    }

    private func signedBody(of request: Request, context: MockRequestContext) async throws -> ByteBuffer {
        let body = try await Self.body(of: request, upTo: self.maximumBodyBytes)
        do {
            try self.authenticator.authenticate(request, body: body, service: self.service, logger: context.logger)
        } catch {
            throw AWSErrorResponse(error)
        }
        return body
    }

    /// The whole body of `request`, refused as AWS refuses one over `limit` bytes.
    static func body(of request: Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw AWSErrorResponse(status: 400, type: "ValidationException", message: "The request body is larger than \(limit) bytes.")
        }
    }
}
