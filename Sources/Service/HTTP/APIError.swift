import Authentication
import Foundation
import HTTPTypes
import Hummingbird

/// A refusal before any stream starts: the HTTP status and the JSON body
/// `{"error_code", "message", "request_id"}` that the original API's clients expect.
struct APIError: Error, Equatable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra response headers, such as `Retry-After` or `Allow`.
    var headers: HTTPFields = [:]

    static func invalidJSON(_ detail: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_json", message: "The request body is not valid JSON: \(detail)")
    }

    static func invalidField(_ field: String, _ problem: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", message: "\(field) \(problem)")
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "request_too_large", message: "The request body is larger than \(limit) bytes.")
    }

    static func malformedBody(_ detail: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", message: "The request body is malformed: \(detail)")
    }

    /// This error with `Connection: close`: its connection is closed once it is written, because
    /// the rest of the request (a body too large to read, a broken framing) will not be read.
    func closingConnection() -> APIError {
        var error = self
        error.headers[.connection] = "close"
        return error
    }

    /// `{"error_code", "message", "request_id"}`, the body of every refusal; without `request_id`
    /// for the ones answered before any request was read (a connection over the cap, a request that
    /// never arrived whole).
    static func body(code: String, message: String, requestId: String?) -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString(#"{"error_code":"#)
        JSONText.writeString(code, to: &json)
        json.writeStaticString(#","message":"#)
        JSONText.writeString(message, to: &json)
        if let requestId {
            json.writeStaticString(#","request_id":"#)
            JSONText.writeString(requestId, to: &json)
        }
        json.writeStaticString("}")
        return json
    }

    static let unsupportedMediaType = APIError(
        status: .unsupportedMediaType,
        code: "unsupported_media_type",
        message: "Send the request body as JSON with Content-Type: application/json."
    )

    static let agentNotAllowed = APIError(status: .forbidden, code: "agent_not_allowed", message: "This agent may not be invoked through this API.")

    static func tooManyStreams(retryAfterSeconds: Int) -> APIError {
        APIError(
            status: .serviceUnavailable,
            code: "too_many_streams",
            message: "The service is streaming as many answers as it may; retry shortly.",
            headers: [.retryAfter: "\(retryAfterSeconds)"]
        )
    }

    static let shuttingDown = APIError(
        status: .serviceUnavailable,
        code: "server_shutting_down",
        message: "The service is shutting down; retry on another instance.",
        headers: [.retryAfter: "1"]
    )

    /// No credentials with a request that needs them (`AUTH_MODE` other than `none`).
    static func authenticationRequired(methods: Set<AuthConfiguration.Method>) -> APIError {
        let how = [
            methods.contains(.jwt) ? "Authorization: Bearer <token>" : nil,
            methods.contains(.apiKey) ? "X-API-Key: <key>" : nil,
        ].compactMap { $0 }.joined(separator: " or ")
        return APIError(
            status: .unauthorized,
            code: "authentication_required",
            message: "This endpoint needs credentials: send \(how).",
            headers: [.wwwAuthenticate: "Bearer"]
        )
    }

    /// Credentials that prove no principal; `message` says why in general terms.
    static func invalidCredentials(_ message: String) -> APIError {
        APIError(
            status: .unauthorized,
            code: "invalid_credentials",
            message: message,
            headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#]
        )
    }

    /// The issuer's keys could not be fetched: the token may be fine, the service cannot tell.
    static let authenticationUnavailable = APIError(
        status: .serviceUnavailable,
        code: "authentication_unavailable",
        message: "The token issuer's signing keys cannot be fetched; retry shortly.",
        headers: [.retryAfter: "10"]
    )

    /// Over `PRINCIPAL_REQUESTS_PER_MINUTE` or `PRINCIPAL_MAX_STREAMS`.
    static func rateLimited(_ message: String, retryAfterSeconds: Int) -> APIError {
        APIError(status: .tooManyRequests, code: "rate_limited", message: message, headers: [.retryAfter: "\(retryAfterSeconds)"])
    }

    /// The principal's `PRINCIPAL_TOKENS_PER_HOUR` is spent; it refills continuously.
    static func tokenBudgetExhausted(tokensPerHour: Int, retryAfterSeconds: Int) -> APIError {
        APIError(
            status: .tooManyRequests,
            code: "token_budget_exhausted",
            message: "This principal has used its \(tokensPerHour) tokens of the last hour; retry when the budget refills.",
            headers: [.retryAfter: "\(retryAfterSeconds)"]
        )
    }

    static let notFound = APIError(status: .notFound, code: "not_found", message: "There is no such endpoint.")

    static func methodNotAllowed(allowed: String) -> APIError {
        APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "Use \(allowed) on this endpoint.", headers: [.allow: allowed])
    }

    /// The response carrying this error for the request `requestId`.
    func response(requestId: String) -> Response {
        let json = Self.body(code: self.code, message: self.message, requestId: requestId)
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: self.status, headers: headers, body: ResponseBody(byteBuffer: json))
    }
}
