import BedrockAgentCore
import BedrockAgentRuntime

/// Why a stream ended without its answer, and what the client is told: an `error_code`, whether
/// retrying the same request may help, and a fixed message that never carries Bedrock's own text
/// (which can hold account ids or ARNs); that text, ``detail``, goes to the log only.
///
/// The README's error table is this type's ``Kind``s, in order.
struct StreamFailure: Error, Sendable {
    enum Kind: Sendable, Equatable {
        /// One of InvokeAgent's ten modeled exceptions, as an HTTP error or a stream event.
        case bedrock(BedrockException)
        /// One of InvokeAgentRuntime's eight modeled errors, as an HTTP error.
        case agentCore(AgentCoreException)
        /// An AgentCore container's own failure while answering (an `error` event).
        case agentError
        /// An exception, error frame or HTTP status that InvokeAgent (or InvokeAgentRuntime) does not model.
        case unknownUpstreamError
        /// An HTTP 429 or 5xx that InvokeAgent does not model, such as a load balancer's 503.
        case upstreamUnavailable
        case connectFailed
        case connectTimeout
        case firstEventTimeout
        case idleTimeout
        case streamTimeout
        /// A frame failed its checksum or broke the event-stream format.
        case corruptFrame
        /// The connection to Bedrock ended before the answer did.
        case streamCut
        case credentialsUnavailable
        case serverShuttingDown
        /// The client went away; nothing is written, the failure is only logged and counted.
        case clientDisconnected
        case internalError
    }

    var kind: Kind
    /// What happened, for the log: Bedrock's message, the transport error.
    var detail: String

    init(_ kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The stable code clients switch on.
    var errorCode: String { self.row.code }

    /// Every kind, for the error table of the OpenAPI document.
    static var allKinds: [Kind] {
        BedrockException.allCases.map(Kind.bedrock) + AgentCoreException.allCases.map(Kind.agentCore) + [
            .agentError, .unknownUpstreamError, .upstreamUnavailable, .connectFailed, .connectTimeout, .firstEventTimeout, .idleTimeout,
            .streamTimeout, .corruptFrame, .streamCut, .credentialsUnavailable, .serverShuttingDown, .internalError,
        ]
    }

    /// Every `error_code` an error line may carry (a client that left gets no line), sorted.
    static var allErrorCodes: [String] {
        Set(Self.allKinds.map { StreamFailure($0, detail: "").errorCode }).sorted()
    }
    /// Whether the same request may succeed if sent again.
    var retryable: Bool { self.row.retryable }
    /// The message safe to show a user.
    var message: String { self.row.message }

    /// Whether the service itself retries the call when this happens before any event arrived:
    /// throttling, Bedrock's 5xx-class exceptions and failures to connect.
    var isRetriedBeforeFirstEvent: Bool {
        switch self.kind {
        case .bedrock(.throttling), .bedrock(.internalServer), .bedrock(.badGateway), .bedrock(.modelNotReady),
            .agentCore(.throttling), .agentCore(.internalServer), .agentCore(.retryableConflict),
            .upstreamUnavailable, .connectFailed, .connectTimeout, .streamCut:
            true
        default:
            false
        }
    }

    private var row: (code: String, retryable: Bool, message: String) {
        switch self.kind {
        case .bedrock(.accessDenied): ("access_denied", false, "The service is not allowed to invoke this agent.")
        case .bedrock(.badGateway): ("bad_gateway", true, "Bedrock could not reach one of its dependencies. Try again.")
        case .bedrock(.conflict): ("conflict", true, "The session is busy with another request. Try again.")
        case .bedrock(.dependencyFailed): ("dependency_failed", false, "A resource the agent depends on failed.")
        case .bedrock(.internalServer): ("bedrock_internal_error", true, "Bedrock had an internal error. Try again.")
        case .bedrock(.modelNotReady): ("model_not_ready", true, "The agent's model is not ready yet. Try again shortly.")
        case .bedrock(.resourceNotFound): ("agent_not_found", false, "The agent or its alias does not exist.")
        case .bedrock(.serviceQuotaExceeded): ("quota_exceeded", false, "A Bedrock service quota was exceeded.")
        case .bedrock(.throttling): ("throttled", true, "Bedrock is throttling requests. Try again shortly.")
        case .bedrock(.validation): ("invalid_upstream_request", false, "Bedrock refused the request as invalid.")
        case .agentCore(.accessDenied): ("access_denied", false, "The service is not allowed to invoke this agent.")
        case .agentCore(.internalServer): ("agentcore_internal_error", true, "AgentCore had an internal error. Try again.")
        case .agentCore(.resourceNotFound): ("agent_not_found", false, "The agent runtime or its endpoint does not exist.")
        case .agentCore(.retryableConflict): ("conflict", true, "The session is busy with another request. Try again.")
        case .agentCore(.runtimeClientError): ("runtime_client_error", false, "The agent's container failed to answer.")
        case .agentCore(.serviceQuotaExceeded): ("quota_exceeded", false, "An AgentCore service quota was exceeded.")
        case .agentCore(.throttling): ("throttled", true, "AgentCore is throttling requests. Try again shortly.")
        case .agentCore(.validation): ("invalid_upstream_request", false, "AgentCore refused the request as invalid.")
        case .agentError: ("agent_error", false, "The agent failed while answering.")
        case .unknownUpstreamError: ("upstream_error", false, "Bedrock answered with an unexpected error.")
        case .upstreamUnavailable: ("upstream_unavailable", true, "Bedrock is unavailable right now. Try again.")
        case .connectFailed: ("upstream_unreachable", true, "Bedrock could not be reached. Try again.")
        case .connectTimeout: ("upstream_connect_timeout", true, "Connecting to Bedrock timed out. Try again.")
        case .firstEventTimeout: ("first_event_timeout", true, "The agent did not start answering in time.")
        case .idleTimeout: ("idle_timeout", true, "The agent stopped sending for too long.")
        case .streamTimeout: ("stream_timeout", false, "The answer took longer than allowed.")
        case .corruptFrame: ("upstream_protocol_error", true, "The answer from Bedrock arrived corrupted.")
        case .streamCut: ("stream_interrupted", true, "The connection to Bedrock ended before the answer did.")
        case .credentialsUnavailable: ("credentials_unavailable", true, "The service has no valid AWS credentials right now.")
        case .serverShuttingDown: ("server_shutting_down", true, "The service is shutting down. Try again.")
        case .clientDisconnected: ("client_disconnected", false, "The client went away.")
        case .internalError: ("internal_error", false, "The service failed unexpectedly.")
        }
    }
}
