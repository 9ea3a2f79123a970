import BedrockAgentRuntime
import EventStream
import ExtrasBase64
import Foundation
import NIOCore
import NIOFoundationCompat

/// What an InvokeAgent event-stream frame means: the frame-to-event mapping of the InvokeAgent
/// backend.
extension AgentEvent {
    /// Maps a decoded frame; exception and error frames become the ``StreamFailure`` they report.
    init(_ message: EventStreamMessage) throws(StreamFailure) {
        let kind: EventStreamMessage.Kind
        do {
            kind = try message.kind
        } catch {
            throw StreamFailure.malformedEvent("\(error)")
        }
        switch kind {
        case .event(type: "chunk"):
            self = try Self.chunk(message.payload)
        case .event(type: "trace"):
            // Not parsed here: with USAGE_METERING every call carries traces, most of which only
            // pass by (``TokenUsage`` reads the few with usage; a forwarded one is checked then).
            self = .trace(message.payload)
        case .event(type: "returnControl"):
            self = .returnControl(try Self.decode(InvokeAgentEvent.ReturnControl.self, message.payload, "returnControl"))
        case .event(type: "files"):
            self = .files(try Self.decode(InvokeAgentEvent.Files.self, message.payload, "files").files ?? [])
        case .event(let type):
            self = .unknown(eventType: type)
        case .exception(let type):
            throw StreamFailure.exceptionFrame(type: type, payload: message.payload)
        case .error(let code, let text):
            throw StreamFailure.errorFrame(code: code, message: text)
        }
    }

    /// `{"bytes":"<base64>"}` is by far the most common frame, so it is read without a JSON
    /// decoder; anything else (citations, escapes) takes the general path.
    private static func chunk(_ payload: ByteBuffer) throws(StreamFailure) -> AgentEvent {
        let prefix: StaticString = #"{"bytes":""#
        let view = payload.readableBytesView
        if view.count >= prefix.utf8CodeUnitCount + 2,
            view.starts(with: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)),
            view.suffix(2).elementsEqual([UInt8(ascii: "\""), UInt8(ascii: "}")])
        {
            let base64 = view.dropFirst(prefix.utf8CodeUnitCount).dropLast(2)
            if !base64.contains(UInt8(ascii: "\\")), let bytes = try? Base64.decode(bytes: base64) {
                return .chunk(bytes: bytes, citations: nil)
            }
        }
        let chunk = try self.decode(InvokeAgentEvent.Chunk.self, payload, "chunk")
        guard let bytes = try? Base64.decode(string: chunk.bytes ?? "") else {
            throw StreamFailure.malformedEvent("a chunk's bytes are not base64")
        }
        return .chunk(bytes: bytes, citations: chunk.attribution?.citations)
    }

    private static func decode<Payload: Decodable>(_: Payload.Type, _ payload: ByteBuffer, _ event: String) throws(StreamFailure) -> Payload {
        do {
            return try JSONDecoder().decode(Payload.self, from: Data(buffer: payload, byteTransferStrategy: .noCopy))
        } catch {
            throw StreamFailure.malformedEvent("a \(event) payload does not match the service model: \(error)")
        }
    }
}
