import BedrockAgentCore
import NIOCore
import NIOHTTP1

/// One InvokeAgentRuntime call's answer, read by its content type: Server-Sent Events (a streaming
/// agent) event by event, `application/json` whole (at most ``maximumJSONBytes``) as one chunk,
/// anything else as text as it arrives.
final class AgentCoreRuntimeAttempt: UpstreamAttempt {
    /// The largest JSON answer read.
    static let maximumJSONBytes = 16 * 1024 * 1024

    private enum Reading {
        case events(NIOSingleStepByteToMessageProcessor<ServerSentEventDecoder>)
        case json(ByteBuffer)
        case text
    }

    let call: UpstreamCall
    private var reading = Reading.text

    init(call: UpstreamCall) {
        self.call = call
    }

    func answer() async throws {
        let head = try await self.call.successHead(classifiedBy: StreamFailure.agentCoreHTTPError)
        let contentType = (head.headers.first(name: "content-type") ?? "").lowercased()
        if contentType.hasPrefix("text/event-stream") {
            self.reading = .events(NIOSingleStepByteToMessageProcessor(ServerSentEventDecoder()))
        } else if contentType.hasPrefix("application/json") {
            self.reading = .json(ByteBuffer())
        }
    }

    /// The events that `piece` completes (`nil`: the body ended), on the stream's event loop
    /// (``UpstreamAttempt``).
    func decode(_ piece: ByteBuffer?, into events: inout [AgentEvent]) -> AttemptRead {
        do {
            switch self.reading {
            case .events(let processor):
                if let piece {
                    try processor.process(buffer: piece) { events.append(try AgentEvent(agentCoreEvent: $0)) }
                    return .more
                }
                try processor.finishProcessing(seenEOF: true) { events.append(try AgentEvent(agentCoreEvent: $0)) }
                return .ended
            case .json(var body):
                guard var piece else {
                    if body.readableBytes > 0 { events.append(try AgentEvent(agentCoreAnswer: body)) }
                    return .ended
                }
                guard body.readableBytes + piece.readableBytes <= Self.maximumJSONBytes else {
                    return .failed(StreamFailure(.corruptFrame, detail: "a JSON answer larger than \(Self.maximumJSONBytes) bytes"))
                }
                body.writeBuffer(&piece)
                self.reading = .json(body)
                return .more
            case .text:
                guard let piece else { return .ended }
                if piece.readableBytes > 0 { events.append(.chunk(bytes: Array(piece.readableBytesView), citations: nil)) }
                return .more
            }
        } catch let failure as StreamFailure {
            return .failed(failure)
        } catch let error as ServerSentEventDecoder.EventTooLarge {
            return .failed(StreamFailure(.corruptFrame, detail: "\(error)"))
        } catch {
            return .failed(StreamFailure(.internalError, detail: "\(error)"))
        }
    }
}
