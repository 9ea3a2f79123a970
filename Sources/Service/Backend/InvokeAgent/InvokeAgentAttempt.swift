import EventStream
import NIOCore
import NIOHTTP1

/// One InvokeAgent call's answer: the response head, then the event-stream frames of its body,
/// decoded as they arrive and mapped to agent events.
///
/// A stop of the stream's controller cancels the call at any point; ``close()`` gives the pool its
/// stream back and cancels whatever was left unread (an error body cut short, a failed stream).
final class InvokeAgentAttempt: AgentAttempt {
    private let response: UpstreamResponse
    private let lease: AWSHTTPClients.Lease
    private let controller: StreamController
    private let frames = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
    private var closed = false

    init(response: UpstreamResponse, lease: AWSHTTPClients.Lease, controller: StreamController) {
        self.response = response
        self.lease = lease
        self.controller = controller
        controller.whenStopped { response.cancel() }
        // A heartbeat due wakes the read, which then returns with no events.
        controller.whenHeartbeatDue { response.nudge() }
    }

    deinit {
        self.close()
    }

    func answer() async throws {
        let head: HTTPResponseHead
        do {
            head = try await self.response.head()
        } catch {
            throw StreamFailure.transport(error, afterHead: false)
        }
        guard head.status == .ok else {
            throw await self.httpFailure(head)
        }
    }

    func nextEvents(into events: inout [AgentEvent]) async -> AttemptRead {
        let piece: ByteBuffer?
        do {
            piece = try await self.response.nextBodyPart()
        } catch {
            guard let failure = StreamFailure.transport(error, afterHead: true) as? StreamFailure else { return .cancelled }
            return .failed(failure)
        }
        return self.decode(piece, into: &events)
    }

    func close() {
        guard !self.closed else { return }
        self.closed = true
        self.controller.whenStopped(nil)
        self.controller.whenHeartbeatDue(nil)
        self.response.cancel()
        self.lease.release()
    }

    /// Appends the events of the frames that `piece` completes (`nil`: the body ended). Out of
    /// `nextEvents`' async frame (ARCHITECTURE.md, "Async frames on the hot path").
    @inline(never)
    private func decode(_ piece: ByteBuffer?, into events: inout [AgentEvent]) -> AttemptRead {
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

    /// The failure an error response reports, from its head and up to 64 KiB of its body.
    private func httpFailure(_ head: HTTPResponseHead) async -> StreamFailure {
        var body = ByteBuffer()
        while body.readableBytes < 64 * 1024, var part = try? await self.response.nextBodyPart() {
            body.writeBuffer(&part)
        }
        return StreamFailure.httpError(status: Int(head.status.code), errorTypeHeader: head.headers.first(name: "x-amzn-ErrorType"), body: body)
    }
}
