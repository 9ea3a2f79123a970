import BedrockAgentRuntime
import EventStream
import NIOCore
import Testing

@testable import AgentStreamingService

/// The InvokeAgent backend's frame-to-event mapping on its own.
@Suite("InvokeAgent events")
struct InvokeAgentEventTests {
    private func event(_ type: String, _ payload: String) throws(StreamFailure) -> AgentEvent {
        try AgentEvent(EventStreamMessage.event(type, payload: ByteBuffer(string: payload)))
    }

    @Test("a chunk's base64 bytes, on the fast path and with citations")
    func chunks() throws {
        guard case .chunk(let bytes, let citations) = try self.event("chunk", #"{"bytes":"SGVsbG8="}"#) else {
            Issue.record("not a chunk")
            return
        }
        #expect(bytes == Array("Hello".utf8))
        #expect(citations == nil)
        let cited = try self.event("chunk", #"{"bytes": "w6k=", "attribution": {"citations": [{"retrievedReferences": []}]}}"#)
        guard case .chunk(let cut, let found) = cited else {
            Issue.record("not a chunk")
            return
        }
        #expect(cut == [0xC3, 0xA9])
        #expect(found == [.object(["retrievedReferences": .array([])])])
    }

    @Test(
        "a frame that breaks the service model is a corrupt frame",
        arguments: [("chunk", #"{"bytes":"not base64!"}"#), ("returnControl", #"{"invocationId": 5}"#)]
    )
    func corrupt(type: String, payload: String) {
        let failure = #expect(throws: StreamFailure.self) { try self.event(type, payload) }
        #expect(failure?.kind == .corruptFrame)
    }

    @Test("trace, return control, files and unknown events")
    func others() throws {
        guard case .trace(let trace) = try self.event("trace", #"{"trace": {}}"#) else { throw Unexpected() }
        #expect(String(buffer: trace) == #"{"trace": {}}"#)
        // Traces pass unparsed (most are only metered); one is checked to be JSON before it is forwarded.
        guard case .trace(let raw) = try self.event("trace", "not json") else { throw Unexpected() }
        #expect(String(buffer: raw) == "not json")
        guard case .returnControl(let control) = try self.event("returnControl", #"{"invocationId": "id-1", "invocationInputs": []}"#)
        else { throw Unexpected() }
        #expect(control.invocationId == "id-1")
        guard case .files(let files) = try self.event("files", #"{"files": [{"name": "a", "type": "text/plain", "bytes": "YQ=="}]}"#)
        else { throw Unexpected() }
        #expect(files.first?.name == "a")
        guard case .unknown(let type) = try self.event("newEvent", "{}") else { throw Unexpected() }
        #expect(type == "newEvent")
    }

    @Test("exception and error frames are the failures they report")
    func failures() {
        let exception = #expect(throws: StreamFailure.self) {
            try AgentEvent(EventStreamMessage.exception("throttlingException", payload: ByteBuffer(string: #"{"message": "slow"}"#)))
        }
        #expect(exception?.errorCode == "throttled")
        let error = #expect(throws: StreamFailure.self) { try AgentEvent(EventStreamMessage.error(code: "Internal", message: "x")) }
        #expect(error?.errorCode == "upstream_error")
    }

    private struct Unexpected: Error {}
}
