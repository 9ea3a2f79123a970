import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Something that decides a scripted answer's next action: ``ScenarioPlayer`` (InvokeAgent's
/// event-stream frames) and ``RuntimePlayer`` (an AgentCore container's bytes).
protocol ScriptPlayer: Sendable {
    /// The next action; after `.pause`, `.dropConnection` or `.finish` there are no more.
    mutating func next() -> ScenarioPlayer.Action
}

/// A player that reads a script's steps in order, each deciding actions into ``actions``.
protocol StepPlayer: ScriptPlayer {
    var actions: ActionQueue { get set }
    /// The next step to play, and how many there are.
    var position: Int { get set }
    var stepCount: Int { get }
    /// Decides the actions of the step at `position`.
    mutating func play(at position: Int)
}

extension StepPlayer {
    mutating func next() -> ScenarioPlayer.Action {
        while self.actions.isEmpty {
            guard !self.actions.ended else { return .finish }
            guard self.position < self.stepCount else {
                self.actions.end(with: .finish)
                break
            }
            self.play(at: self.position)
            self.position += 1
        }
        return self.actions.take()
    }
}

/// The actions a player decided and has not handed over, in order: bytes gathered until a pause
/// or the end go out in one write.
struct ActionQueue: Sendable {
    /// Bytes decided since the last write.
    var pending = ByteBuffer()
    private var queued: [ScenarioPlayer.Action] = []
    /// Whether the script has ended: nothing follows the queued actions.
    private(set) var ended = false

    var isEmpty: Bool { self.queued.isEmpty }

    /// Writes what is pending, then waits.
    mutating func pause(milliseconds: Int) {
        self.flush()
        self.queued.append(.sleep(milliseconds: milliseconds))
    }

    /// Queues what is pending, then `final`, and stops reading steps.
    mutating func end(with final: ScenarioPlayer.Action) {
        self.flush()
        self.queued.append(final)
        self.ended = true
    }

    mutating func take() -> ScenarioPlayer.Action {
        self.queued.removeFirst()
    }

    private mutating func flush() {
        guard self.pending.readableBytes > 0 else { return }
        self.queued.append(.write(self.pending))
        self.pending = ByteBuffer()
    }
}

/// A 200 answer that plays a script: counted in the mock's statistics (started, completed,
/// interrupted), paced by ``StreamPacer``, cut when the script drops the connection.
enum ScriptedResponse {
    /// Plays `player` into a response with `headers`; `ended` learns how the script ended, before
    /// the response finishes (InvokeAgent remembers a paused session there).
    static func play(
        _ player: some ScriptPlayer,
        headers: HTTPFields,
        state: MockState,
        context: MockRequestContext,
        subject: Logger.Metadata,
        ended: @escaping @Sendable (ScenarioPlayer.Action) -> Void = { _ in }
    ) -> Response {
        let channel = context.channel
        let logger = context.logger
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                state.count(\.streamsStarted)
                let ending: ScenarioPlayer.Action
                do {
                    ending = try await Self.run(player, channel: channel, writer: &writer)
                } catch {
                    state.count(\.streamsInterrupted)
                    logger.info("Stream interrupted", metadata: subject.merging(["reason": "\(error)"]) { $1 })
                    throw error
                }
                ended(ending)
                state.count(\.streamsCompleted)
                if ending == .dropConnection {
                    throw ScriptedFault.connectionDropped
                }
                try await writer.finish(nil)
            }
        )
    }

    /// A fixed body, written at once (a recording).
    static func write(_ bytes: ByteBuffer, headers: HTTPFields, state: MockState, context: MockRequestContext, subject: Logger.Metadata) -> Response {
        self.play(FixedBody(bytes: bytes), headers: headers, state: state, context: context, subject: subject)
    }

    private static func run(
        _ player: some ScriptPlayer,
        channel: any Channel,
        writer: inout any ResponseBodyWriter
    ) async throws -> ScenarioPlayer.Action {
        let pacer = StreamPacer(channel: channel)
        // One handler for the whole stream, not one per pause: ServiceLifecycle keeps every
        // handler in one shared list, and `cancelWhenGracefulShutdown` starts two child tasks.
        return try await withTaskCancellationOrGracefulShutdownHandler {
            var player = player
            while true {
                switch player.next() {
                case .write(let bytes):
                    try await writer.write(bytes)
                case .sleep(let milliseconds):
                    try await pacer.pause(milliseconds: milliseconds)
                case let final:
                    return final
                }
            }
        } onCancelOrGracefulShutdown: {
            pacer.stop()
        }
    }

    /// Thrown to make Hummingbird close the connection mid-body, as the `dropConnection` fault asks.
    enum ScriptedFault: Error {
        case connectionDropped
    }

    /// A body written in one piece.
    private struct FixedBody: ScriptPlayer {
        var bytes: ByteBuffer?

        mutating func next() -> ScenarioPlayer.Action {
            guard let bytes = self.bytes else { return .finish }
            self.bytes = nil
            return .write(bytes)
        }
    }
}
