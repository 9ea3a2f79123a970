import AWSAccess

/// The eight errors InvokeAgentRuntime models (botocore's `bedrock-agentcore` service model), sent
/// as an HTTP error before the answer: the status, `x-amzn-ErrorType` and a JSON `{"message": ...}`.
public enum AgentCoreException: String, CaseIterable, Sendable {
    case accessDenied = "AccessDeniedException"
    case internalServer = "InternalServerException"
    case resourceNotFound = "ResourceNotFoundException"
    case retryableConflict = "RetryableConflictException"
    case runtimeClientError = "RuntimeClientError"
    case serviceQuotaExceeded = "ServiceQuotaExceededException"
    case throttling = "ThrottlingException"
    case validation = "ValidationException"

    /// The name in `x-amzn-ErrorType`, e.g. `ThrottlingException`.
    public var errorType: String { self.rawValue }

    /// The HTTP status the service model gives the error.
    public var httpStatus: Int {
        switch self {
        case .accessDenied: 403
        case .internalServer: 500
        case .resourceNotFound: 404
        case .retryableConflict: 409
        case .runtimeClientError: 424
        case .serviceQuotaExceeded: 402
        case .throttling: 429
        case .validation: 400
        }
    }

    /// The error named by an `x-amzn-ErrorType` header (which may carry a `:` suffix) or a JSON
    /// body's `__type` (which may carry a `#` namespace).
    public init?(errorType: String) {
        self.init(rawValue: AWSErrorType.shapeName(errorType))
    }
}
