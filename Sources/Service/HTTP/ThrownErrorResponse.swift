import HTTPTypes
import Hummingbird
import Logging

/// Whatever a handler or the router throws, as the API's JSON error body. ``ServiceMiddleware``
/// renders it inside the CORS policy, so that browsers can read errors too.
enum ThrownErrorResponse {
    /// The error's response, logged on the request's logger: refusals (``APIError``) at info,
    /// or error from 500 on; anything else as a 500 `internal_error`.
    @inline(never)
    static func response(to error: any Error, context: ServiceRequestContext) -> Response {
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
