import AsyncHTTPClient
import NIOCore
import Testing

@testable import AgentStreamingService
@testable import EventStream

/// Every upstream problem becomes its failure in ``StreamFailure``'s classification, tested
/// here directly; `ErrorTableTests` drives the same through MockBedrock.
@Suite("Failure classification")
struct StreamFailureClassificationTests {
    @Test(
        "an HTTP error names its modeled exception by header or __type, else it is transient only for 429 and 5xx",
        arguments: [
            (429, "ThrottlingException:http://internal.amazon.com/", #"{"message": "Rate exceeded"}"#, "throttled"),
            (400, nil, #"{"__type": "com.amazonaws.bedrockagentruntime#ValidationException", "Message": "bad"}"#, "invalid_upstream_request"),
            (503, nil, "<html>Service Unavailable</html>", "upstream_unavailable"),
            (429, nil, "", "upstream_unavailable"),
            (418, "TeapotException", "{}", "upstream_error"),
        ] as [(Int, String?, String, String)]
    )
    func httpErrors(status: Int, header: String?, body: String, code: String) {
        let failure = StreamFailure.httpError(status: status, errorTypeHeader: header, body: ByteBuffer(string: body))
        #expect(failure.errorCode == code)
        #expect(failure.detail.hasPrefix("HTTP \(status) "))
    }

    @Test("exception and error frames: a modeled exception by its event name, anything else unmodeled")
    func frames() {
        let modeled = StreamFailure.exceptionFrame(type: "throttlingException", payload: ByteBuffer(string: #"{"message": "slow down"}"#))
        #expect(modeled.errorCode == "throttled")
        #expect(modeled.detail == "throttlingException: slow down")
        #expect(StreamFailure.exceptionFrame(type: "newException", payload: ByteBuffer(string: "x")).errorCode == "upstream_error")
        #expect(StreamFailure.errorFrame(code: "InternalFailure", message: nil).errorCode == "upstream_error")
    }

    @Test("a cut frame is a cut stream; any other format error is a corrupt one")
    func eventStreamErrors() {
        #expect(StreamFailure(EventStreamError(.truncatedFrame, "3 of 16 bytes")).kind == .streamCut)
        #expect(StreamFailure(EventStreamError(.messageChecksumMismatch, "CRC")).kind == .corruptFrame)
    }

    @Test("transport errors: a connect timeout before the head, a cut after it, cancellation stays cancellation")
    func transport() {
        #expect((StreamFailure.transport(HTTPClientError.connectTimeout, afterHead: false) as? StreamFailure)?.kind == .connectTimeout)
        #expect((StreamFailure.transport(HTTPClientError.remoteConnectionClosed, afterHead: false) as? StreamFailure)?.kind == .connectFailed)
        #expect((StreamFailure.transport(HTTPClientError.remoteConnectionClosed, afterHead: true) as? StreamFailure)?.kind == .streamCut)
        #expect(StreamFailure.transport(HTTPClientError.cancelled, afterHead: true) is CancellationError)
    }
}
