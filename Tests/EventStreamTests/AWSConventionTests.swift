import NIOCore
import Testing

@testable import EventStream

/// The typed view of the AWS headers that say what a message is.
@Suite("AWS message conventions")
struct AWSConventionTests {
    @Test("events, exceptions and errors are told apart by their headers")
    func kinds() throws {
        let event = EventStreamMessage.event("chunk", payload: ByteBuffer(string: #"{"bytes":"SGk="}"#))
        #expect(try event.kind == .event(type: "chunk"))
        #expect(event.contentType == "application/json")
        #expect(event.headers.map(\.name) == [":event-type", ":content-type", ":message-type"])

        let exception = EventStreamMessage.exception("throttlingException", payload: ByteBuffer(string: #"{"message":"slow down"}"#))
        #expect(try exception.kind == .exception(type: "throttlingException"))
        #expect(exception.headers.map(\.name) == [":exception-type", ":content-type", ":message-type"])

        let error = EventStreamMessage.error(code: "InternalFailure", message: "boom")
        #expect(try error.kind == .error(code: "InternalFailure", message: "boom"))
        #expect(error.errorCode == "InternalFailure")
        #expect(error.errorMessage == "boom")
    }

    @Test("the conventions survive the wire")
    func throughTheWire() throws {
        let sent = EventStreamMessage.exception("accessDeniedException", payload: ByteBuffer(string: #"{"message":"no"}"#))
        let received = try decodeAll([EventStreamEncoder().encode(sent)])
        #expect(try received.first?.kind == .exception(type: "accessDeniedException"))
    }

    @Test(
        "broken conventions are reported",
        arguments: [
            ([], EventStreamError.Code.missingHeader),
            ([EventStreamHeader(name: ":message-type", value: .int32(1))], .missingHeader),
            ([EventStreamHeader(name: ":message-type", value: .string("event"))], .missingHeader),
            ([EventStreamHeader(name: ":message-type", value: .string("exception"))], .missingHeader),
            ([EventStreamHeader(name: ":message-type", value: .string("error"))], .missingHeader),
            ([EventStreamHeader(name: ":message-type", value: .string("gossip"))], .unknownMessageType),
        ] as [([EventStreamHeader], EventStreamError.Code)]
    )
    func brokenConventions(headers: [EventStreamHeader], code: EventStreamError.Code) {
        let error = #expect(throws: EventStreamError.self) { try EventStreamMessage(headers: headers).kind }
        #expect(error?.code == code)
    }

    @Test("the first of duplicate headers wins")
    func duplicates() {
        let message = EventStreamMessage(headers: [
            EventStreamHeader(name: ":event-type", value: .string("chunk")),
            EventStreamHeader(name: ":event-type", value: .string("trace")),
        ])
        #expect(message.eventType == "chunk")
    }

    @Test("UUIDs print in canonical form")
    func uuidDescription() {
        let uuid = UUIDBytes(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)
        #expect(uuid.description == "01020304-0506-0708-090a-0b0c0d0e0f10")
        #expect(uuid.bytes == Array(1...16))
    }
}
