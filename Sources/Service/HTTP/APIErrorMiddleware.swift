import HTTPTypes
import Hummingbird
import Logging

/// Turns whatever a handler or the router throws into the API's JSON error body, inside the CORS
/// middleware so that browsers can read errors too.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(to: error, context: context)
        }
    }

    /// The error's response, built out of ``handle(_:context:next:)``'s async frame
    /// (ARCHITECTURE.md, "Async frames on the hot path").
    @inline(never)
    static func response(to error: any Error, context: Context) -> Response {
        switch error {
        case let error as APIError:
            if error.status.code >= 500 {
                context.logger.error("Request refused", metadata: ["error_code": .string(error.code)])
            } else {
                context.logger.info("Request refused", metadata: ["error_code": .string(error.code), "message": .string(error.message)])
            }
            return error.response(requestId: context.requestId)
        case let error as HTTPError where error.status == .notFound:
            return APIError.notFound.response(requestId: context.requestId)
        case let error as HTTPError where error.status == .contentTooLarge:
            return APIError(status: .contentTooLarge, code: "request_too_large", message: "The request body is too large.")
                .response(requestId: context.requestId)
        default:
            context.logger.error("Request failed", metadata: ["error_code": "internal_error", "error": "\(error)"])
            return APIError(status: .internalServerError, code: "internal_error", message: "The service failed unexpectedly.")
                .response(requestId: context.requestId)
        }
    }
}
