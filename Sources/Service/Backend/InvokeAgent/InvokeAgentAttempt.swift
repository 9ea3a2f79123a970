import EventStream
import NIOCore
import NIOHTTP1

/// One InvokeAgent call's answer: the response head, then the event-stream frames of its body,
/// decoded as they arrive and mapped to agent events.
///
/// A stop of the stream's controller cancels the call at any point; ``close()`` gives the pool its
/// stream back and cancels whatever was left unread (an error body cut short, a failed stream).
final class InvokeAgentAttempt: UpstreamAttempt {
    let call: UpstreamCall
    private let frames = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())

    init(call: UpstreamCall) {
        self.call = call
    }

    func answer() async throws {
        _ = try await self.call.successHead(classifiedBy: StreamFailure.httpError)
    }

    /// Appends the events of the frames that `piece` completes (`nil`: the body ended), on the
    /// stream's event loop (``UpstreamAttempt``).
    func decode(_ piece: ByteBuffer?, into events: inout [AgentEvent]) -> AttemptRead {
        do {
            if let piece {
                try self.frames.process(buffer: piece) { events.append(try AgentEvent($0)) }
                return .more
            }
            try self.frames.finishProcessing(seenEOF: true) { events.append(try AgentEvent($0)) }
            return .ended
        } catch let error as EventStreamError {
            return .failed(StreamFailure(error))
        } catch let failure as StreamFailure {
            return .failed(failure)
        } catch {
            return .failed(StreamFailure(.internalError, detail: "\(error)"))
        }
    }
}
