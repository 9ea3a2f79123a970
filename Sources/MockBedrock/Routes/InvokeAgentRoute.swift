import BedrockAgentRuntime
import EventStream
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle

/// `POST /agents/{agentId}/agentAliases/{agentAliasId}/sessions/{sessionId}/text`: InvokeAgent,
/// checked in the order Bedrock checks (signature, ids, body, agent), then answered with the
/// agent's fixture as event-stream frames.
struct InvokeAgentRoute: Sendable {
    let fixtures: FixtureStore
    let state: MockState
    let authenticator: RequestAuthenticator

    /// The largest body accepted: `inputText` may hold 25,000,000 characters.
    static let maximumBodyBytes = 32 * 1024 * 1024

    func register(on router: Router<MockRequestContext>) {
        router.post("/agents/:agentId/agentAliases/:agentAliasId/sessions/:sessionId/text") { request, context in
            let requestId = UUID().uuidString.lowercased()
            self.state.count(\.invocations)
            do {
                return try await self.invoke(request, context: context, requestId: requestId)
            } catch let error as AWSErrorResponse {
                context.logger.info("InvokeAgent refused", metadata: ["type": "\(error.type)", "message": "\(error.message)"])
                return error.response(requestId: requestId)
            }
        }
    }

    private func invoke(_ request: Request, context: MockRequestContext, requestId: String) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodyBytes)
        } catch {
            throw AWSErrorResponse(.validation, "The request body is larger than \(Self.maximumBodyBytes) bytes.")
        }
        do {
            try self.authenticator.authenticate(request, body: body, service: "bedrock", logger: context.logger)
        } catch {
            throw AWSErrorResponse(error)
        }

        let target = try Self.target(from: context.parameters)
        if let problem = target.violation {
            throw AWSErrorResponse(.validation, "1 validation error detected: \(problem)")
        }
        let input: InvokeAgentRequest
        do {
            input = try JSONDecoder().decode(InvokeAgentRequest.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw AWSErrorResponse(status: 400, type: "SerializationException", message: error.fixtureDescription)
        }
        if let problem = input.violation {
            throw AWSErrorResponse(.validation, "1 validation error detected: \(problem)")
        }
        guard let agent = self.fixtures[target.agentId] else {
            throw AWSErrorResponse(
                .resourceNotFound,
                "Failed to retrieve resource because it doesn't exist. Retry the request with a different resource identifier."
            )
        }
        self.state.record(
            .init(
                agentId: target.agentId,
                agentAliasId: target.agentAliasId,
                sessionId: target.sessionId,
                memoryId: input.memoryId,
                sessionAttributes: input.sessionState?.sessionAttributes,
                promptSessionAttributes: input.sessionState?.promptSessionAttributes,
                invocationId: input.sessionState?.invocationId,
                returnControlInvocationResults: input.sessionState?.returnControlInvocationResults
            )
        )

        let headers = Self.responseHeaders(requestId: requestId, sessionId: target.sessionId, memoryId: input.memoryId)
        let streamsChunks = input.streamingConfigurations?.streamFinalResponse ?? false
        let tracing = input.enableTrace ?? false
        switch agent {
        case .recorded(let recording):
            return self.stream(headers: headers, target: target, logger: context.logger) { writer in
                try await writer.write(recording)
                return .finish
            }
        case .load:
            switch LoadAgent.steps(for: input.sessionState?.sessionAttributes ?? [:]) {
            case .success(let steps):
                let player = ScenarioPlayer(steps: steps, streamFinalResponse: streamsChunks, enableTrace: tracing)
                return self.play(player, headers: headers, target: target, context: context)
            case .failure(let error):
                throw AWSErrorResponse(.validation, error.message)
            }
        case .scripted(let scenario):
            var start = 0
            var steps = scenario.steps
            if input.sessionState?.returnControlInvocationResults != nil {
                switch self.state.resume(session: target.sessionId, agentId: target.agentId, invocationId: input.sessionState?.invocationId) {
                case .success(let resumeAt): start = resumeAt
                case .failure(let refusal): throw AWSErrorResponse(.validation, refusal.message)
                }
            } else if let failure = scenario.httpError, self.state.isAmongFirstCalls(of: target.agentId, times: failure.times) {
                throw AWSErrorResponse(status: failure.resolvedStatus, type: failure.type, message: failure.message)
            } else if let first = scenario.firstSteps, self.state.isAmongFirstCalls(of: target.agentId + " firstSteps", times: first.times) {
                steps = first.steps
            }
            let player = ScenarioPlayer(steps: steps, start: start, streamFinalResponse: streamsChunks, enableTrace: tracing)
            return self.play(player, headers: headers, target: target, context: context)
        }
    }

    private func play(_ player: ScenarioPlayer, headers: HTTPFields, target: InvokeAgentTarget, context: MockRequestContext) -> Response {
        let channel = context.channel
        return self.stream(headers: headers, target: target, logger: context.logger) { writer in
            let pacer = StreamPacer(channel: channel)
            // One handler for the whole stream, not one per pause: ServiceLifecycle keeps every
            // handler in one shared list, and `cancelWhenGracefulShutdown` starts two child tasks.
            return try await withTaskCancellationOrGracefulShutdownHandler {
                var player = player
                while true {
                    switch player.next() {
                    case .write(let frames):
                        try await writer.write(frames)
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
    }

    /// A 200 response whose body `produce` writes; it returns how the response ends.
    private func stream(
        headers: HTTPFields,
        target: InvokeAgentTarget,
        logger: Logger,
        _ produce: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> ScenarioPlayer.Action
    ) -> Response {
        let state = self.state
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                state.count(\.streamsStarted)
                let ending: ScenarioPlayer.Action
                do {
                    ending = try await produce(&writer)
                } catch {
                    state.count(\.streamsInterrupted)
                    logger.info("Stream interrupted", metadata: ["agent_id": "\(target.agentId)", "reason": "\(error)"])
                    throw error
                }
                switch ending {
                case .pause(let invocationId, let resumeAt):
                    state.pause(session: target.sessionId, .init(agentId: target.agentId, invocationId: invocationId, resumeAt: resumeAt))
                case .dropConnection:
                    state.count(\.streamsCompleted)
                    throw ScriptedFault.connectionDropped
                default:
                    break
                }
                state.count(\.streamsCompleted)
                try await writer.finish(nil)
            }
        )
    }

    /// Thrown to make Hummingbird close the connection mid-body, as the `dropConnection` fault asks.
    enum ScriptedFault: Error {
        case connectionDropped
    }

    private static func target(from parameters: Parameters) throws -> InvokeAgentTarget {
        func decoded(_ name: String) throws -> String {
            guard let raw = parameters.get(name), let value = raw.removingPercentEncoding else {
                throw AWSErrorResponse(.validation, "1 validation error detected: \(name) is not a valid percent-encoded path segment")
            }
            return value
        }
        return InvokeAgentTarget(agentId: try decoded("agentId"), agentAliasId: try decoded("agentAliasId"), sessionId: try decoded("sessionId"))
    }

    private static func responseHeaders(requestId: String, sessionId: String, memoryId: String?) -> HTTPFields {
        var headers: HTTPFields = [
            // What the real service has been seen to send; clients must not depend on it.
            .contentType: "application/json",
            HTTPField.Name("x-amzn-RequestId")!: requestId,
            HTTPField.Name("x-amz-bedrock-agent-session-id")!: sessionId,
            HTTPField.Name("x-amzn-bedrock-agent-content-type")!: "application/json",
        ]
        if let memoryId {
            headers[HTTPField.Name("x-amz-bedrock-agent-memory-id")!] = memoryId
        }
        return headers
    }
}
