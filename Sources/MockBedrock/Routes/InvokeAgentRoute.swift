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
    let replay: RecordedReplay

    /// The largest body accepted: `inputText` may hold 25,000,000 characters.
    static let maximumBodyBytes = 32 * 1024 * 1024

    func register(on router: Router<MockRequestContext>) {
        RESTJSONOperation(
            name: "InvokeAgent",
            service: "bedrock",
            maximumBodyBytes: Self.maximumBodyBytes,
            state: self.state,
            authenticator: self.authenticator
        ).register("/agents/:agentId/agentAliases/:agentAliasId/sessions/:sessionId/text", on: router) { request, body, context, requestId in
            try await self.invoke(request, body: body, context: context, requestId: requestId)
        }
    }

    private func invoke(_ request: Request, body: ByteBuffer, context: MockRequestContext, requestId: String) async throws -> Response {
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
        case .replayed(let recorded):
            return self.replay.response(
                recorded,
                key: target.agentId,
                input: input.inputText,
                requestId: requestId,
                sessionHeader: ("x-amz-bedrock-agent-session-id", target.sessionId),
                context: context
            )
        case .recorded(let recording):
            return ScriptedResponse.write(
                recording,
                headers: headers,
                state: self.state,
                context: context,
                subject: ["agent_id": "\(target.agentId)"]
            )
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
                throw AWSErrorResponse(
                    status: failure.resolvedStatus { BedrockException(errorType: $0)?.httpStatus },
                    type: failure.type,
                    message: failure.message
                )
            } else if let first = scenario.firstSteps, self.state.isAmongFirstCalls(of: target.agentId + " firstSteps", times: first.times) {
                steps = first.steps
            }
            let player = ScenarioPlayer(steps: steps, start: start, streamFinalResponse: streamsChunks, enableTrace: tracing)
            return self.play(player, headers: headers, target: target, context: context)
        }
    }

    private func play(_ player: ScenarioPlayer, headers: HTTPFields, target: InvokeAgentTarget, context: MockRequestContext) -> Response {
        let state = self.state
        return ScriptedResponse.play(player, headers: headers, state: state, context: context, subject: ["agent_id": "\(target.agentId)"]) {
            ending in
            if case .pause(let invocationId, let resumeAt) = ending {
                state.pause(session: target.sessionId, .init(agentId: target.agentId, invocationId: invocationId, resumeAt: resumeAt))
            }
        }
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
