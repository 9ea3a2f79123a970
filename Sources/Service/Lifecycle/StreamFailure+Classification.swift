import AsyncHTTPClient
import BedrockAgentCore
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat

/// Every way an upstream problem becomes a ``StreamFailure``, in one place: transport errors,
/// HTTP error responses, exception and error frames, malformed events, event-stream format
/// errors, missing credentials, and a client that went away. Cancellation is not a failure: it
/// stays `CancellationError`. (Only the service's own bugs, `internalError`, are made where found.)
extension StreamFailure {
    /// What a transport error of the Bedrock call means: before the response head, a failure to
    /// connect; after it, the stream was cut. Cancellation (the stream was stopped) is returned as
    /// `CancellationError`.
    static func transport(_ error: any Error, afterHead: Bool) -> any Error {
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

    /// What an InvokeAgent HTTP error response reports: the modeled exception its
    /// `x-amzn-ErrorType` (or JSON `__type`) names, else an unknown error that is transient when
    /// the status is 429 or 5xx.
    static func httpError(status: Int, errorTypeHeader: String?, body: ByteBuffer) -> StreamFailure {
        Self.httpError(status: status, errorTypeHeader: errorTypeHeader, body: body) { BedrockException(errorType: $0).map(Kind.bedrock) }
    }

    /// What an InvokeAgentRuntime HTTP error response reports, as for InvokeAgent with its own errors.
    static func agentCoreHTTPError(status: Int, errorTypeHeader: String?, body: ByteBuffer) -> StreamFailure {
        Self.httpError(status: status, errorTypeHeader: errorTypeHeader, body: body) { AgentCoreException(errorType: $0).map(Kind.agentCore) }
    }

    private static func httpError(status: Int, errorTypeHeader: String?, body: ByteBuffer, modeled: (String) -> Kind?) -> StreamFailure {
        struct ErrorDocument: Decodable {
            var message: String?
            var Message: String?
            var __type: String?
        }
        let document = try? JSONDecoder().decode(ErrorDocument.self, from: Data(buffer: body))
        let type = errorTypeHeader ?? document?.__type ?? ""
        let detail = "HTTP \(status) \(type): \(document?.message ?? document?.Message ?? String(buffer: body))"
        if let kind = modeled(type) {
            return StreamFailure(kind, detail: detail)
        }
        let transient = status == 429 || status >= 500
        return StreamFailure(transient ? .upstreamUnavailable : .unknownUpstreamError, detail: detail)
    }

    /// An AgentCore container's `error` event, with its `error_type`: the text goes to the log only.
    static func agentError(_ error: JSONValue, type: JSONValue?) -> StreamFailure {
        let text = error.stringValue ?? (try? String(decoding: JSONEncoder.sortedKeys.encode(error), as: UTF8.self)) ?? "?"
        return StreamFailure(.agentError, detail: "\(type?.stringValue ?? "error"): \(text)")
    }

    /// An exception frame (`:message-type: exception`), whose payload is `{"message": ...}`.
    static func exceptionFrame(type: String, payload: ByteBuffer) -> StreamFailure {
        let text = (try? JSONDecoder().decode(InvokeAgentEvent.ExceptionMessage.self, from: Data(buffer: payload)))?.message
        let detail = "\(type): \(text ?? String(buffer: payload))"
        guard let exception = BedrockException(eventName: type) else {
            return StreamFailure(.unknownUpstreamError, detail: detail)
        }
        return StreamFailure(.bedrock(exception), detail: detail)
    }

    /// An error frame (`:message-type: error`), with `:error-code` and `:error-message`.
    static func errorFrame(code: String, message: String?) -> StreamFailure {
        StreamFailure(.unknownUpstreamError, detail: "\(code): \(message ?? "")")
    }

    /// A frame that is well formed but says something the service model does not allow: its
    /// headers name no known message type, or its payload is not the event's shape.
    static func malformedEvent(_ problem: String) -> StreamFailure {
        StreamFailure(.corruptFrame, detail: problem)
    }

    /// A frame the event-stream decoder refused: cut short, the stream was cut; else it is corrupt.
    init(_ error: EventStreamError) {
        self.init(error.code == .truncatedFrame ? .streamCut : .corruptFrame, detail: "\(error)")
    }

    /// The credential chain could not give credentials to sign with.
    static func credentialsUnavailable(_ error: any Error) -> StreamFailure {
        StreamFailure(.credentialsUnavailable, detail: "\(error)")
    }

    /// A write to the client failed: it has gone.
    static func clientGone(_ error: any Error) -> StreamFailure {
        StreamFailure(.clientDisconnected, detail: "\(error)")
    }
}
