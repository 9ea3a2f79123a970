import AWSAccess

/// The ten exceptions InvokeAgent models. Bedrock sends each either as an HTTP error before the
/// stream (status, `x-amzn-ErrorType`, JSON `{"message": ...}`) or as a mid-stream event frame
/// whose `:exception-type` is the lower-camel-case ``eventName``.
public enum BedrockException: String, CaseIterable, Sendable {
    case accessDenied = "AccessDeniedException"
    case badGateway = "BadGatewayException"
    case conflict = "ConflictException"
    case dependencyFailed = "DependencyFailedException"
    case internalServer = "InternalServerException"
    case modelNotReady = "ModelNotReadyException"
    case resourceNotFound = "ResourceNotFoundException"
    case serviceQuotaExceeded = "ServiceQuotaExceededException"
    case throttling = "ThrottlingException"
    case validation = "ValidationException"

    /// The name in `x-amzn-ErrorType`, e.g. `ThrottlingException`.
    public var errorType: String { self.rawValue }

    /// The name as a stream event, e.g. `throttlingException`.
    public var eventName: String {
        self.rawValue.prefix(1).lowercased() + self.rawValue.dropFirst()
    }

    /// The HTTP status the service model gives the exception.
    public var httpStatus: Int {
        switch self {
        case .accessDenied: 403
        case .badGateway: 502
        case .conflict: 409
        case .dependencyFailed: 424
        case .internalServer: 500
        case .modelNotReady: 424
        case .resourceNotFound: 404
        case .serviceQuotaExceeded: 400
        case .throttling: 429
        case .validation: 400
        }
    }

    /// The exception named by an `x-amzn-ErrorType` header or a JSON body's `__type`: the header may
    /// carry a `:` suffix (`ThrottlingException:http://internal.amazon.com/…`), `__type` a `#`
    /// namespace (`com.amazonaws.bedrockagentruntime#ThrottlingException`). Both are read here only.
    public init?(errorType: String) {
        self.init(rawValue: AWSErrorType.shapeName(errorType))
    }

    /// The exception named by an `:exception-type` event header.
    public init?(eventName: String) {
        guard let first = eventName.first else { return nil }
        self.init(rawValue: first.uppercased() + eventName.dropFirst())
    }
}
