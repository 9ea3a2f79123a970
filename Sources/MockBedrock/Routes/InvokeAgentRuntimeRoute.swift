import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /runtimes/{agentRuntimeArn}/invocations?qualifier=Q`: AgentCore Runtime's
/// InvokeAgentRuntime, checked as AgentCore checks (the signature for `bedrock-agentcore`, the
/// ARN, the qualifier, the session header), then answered with the runtime's fixture: the
/// container's own bytes, Server-Sent Events or another content type.
struct InvokeAgentRuntimeRoute: Sendable {
    let fixtures: FixtureStore
    let state: MockState
    let authenticator: RequestAuthenticator
    let replay: RecordedReplay

    /// The model's largest payload is 100,000,000 bytes; the mock takes up to 32 MiB.
    static let maximumBodyBytes = 32 * 1024 * 1024

    func register(on router: Router<MockRequestContext>) {
        RESTJSONOperation(
            name: "InvokeAgentRuntime",
            service: "bedrock-agentcore",
            maximumBodyBytes: Self.maximumBodyBytes,
            state: self.state,
            authenticator: self.authenticator
        ).register("/runtimes/:agentRuntimeArn/invocations", on: router) { request, body, context, requestId in
            try await self.invoke(request, body: body, context: context, requestId: requestId)
        }
    }

    private func invoke(_ request: Request, body: ByteBuffer, context: MockRequestContext, requestId: String) async throws -> Response {
        guard let raw = context.parameters.get("agentRuntimeArn"), let arn = raw.removingPercentEncoding else {
            throw AWSErrorResponse(Self.validation, "1 validation error detected: agentRuntimeArn is not a valid percent-encoded path segment")
        }
        let sessionId = request.headers[HTTPField.Name(AgentRuntimeTarget.sessionHeader)!] ?? UUID().uuidString.lowercased() + "-mock"
        let target = AgentRuntimeTarget(arn: arn, qualifier: request.uri.queryParameters.get("qualifier"), sessionId: sessionId)
        if let problem = target.violation {
            throw AWSErrorResponse(Self.validation, "1 validation error detected: \(problem)")
        }
        let name = Self.runtimeName(of: arn)
        let payload = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
        var runtime = RuntimeScenario(steps: [])
        var recorded: RecordedAgent?
        if name == LoadAgent.runtimeName {
            switch LoadAgent.runtimeSteps(for: payload) {
            case .success(let steps): runtime = RuntimeScenario(steps: steps)
            case .failure(let error):
                throw AWSErrorResponse(Self.validation, error.message.replacingOccurrences(of: "sessionAttributes", with: "payload"))
            }
        } else if case .scripted(let scripted)? = self.fixtures.runtime(named: name) {
            runtime = scripted
        } else if case .replayed(let replayed)? = self.fixtures.runtime(named: name) {
            recorded = replayed
        } else {
            throw AWSErrorResponse(AgentCoreException.resourceNotFound, "No agent runtime found for \(arn).")
        }
        // The model's limits on the trace context headers.
        for (header, limit) in [("traceparent", 128), ("tracestate", 512), ("baggage", 8_192)] {
            if let value = request.headers[HTTPField.Name(header)!], value.utf8.count > limit {
                throw AWSErrorResponse(Self.validation, "\(header) must be at most \(limit) characters.")
            }
        }
        self.state.record(
            .init(
                agentId: name,
                agentAliasId: target.qualifier ?? "DEFAULT",
                sessionId: sessionId,
                agentRuntimeArn: arn,
                runtimeUserId: request.headers[HTTPField.Name(AgentRuntimeTarget.userHeader)!],
                payload: payload,
                traceParent: request.headers[HTTPField.Name("traceparent")!],
                traceState: request.headers[HTTPField.Name("tracestate")!]
            )
        )
        if let recorded {
            return self.replay.response(
                recorded,
                key: "runtime " + name,
                input: payload.map(Recording.input(ofPayload:)),
                requestId: requestId,
                sessionHeader: (AgentRuntimeTarget.sessionHeader, sessionId),
                context: context
            )
        }
        if let failure = runtime.httpError, self.state.isAmongFirstCalls(of: "runtime " + name, times: failure.times) {
            throw AWSErrorResponse(
                status: failure.resolvedStatus { AgentCoreException(errorType: $0)?.httpStatus },
                type: failure.type,
                message: failure.message
            )
        }
        let headers: HTTPFields = [
            .contentType: runtime.resolvedContentType,
            HTTPField.Name("x-amzn-RequestId")!: requestId,
            HTTPField.Name(AgentRuntimeTarget.sessionHeader)!: sessionId,
        ]
        return ScriptedResponse.play(
            RuntimePlayer(steps: runtime.steps),
            headers: headers,
            state: self.state,
            context: context,
            subject: ["agent_runtime": "\(name)"]
        )
    }

    private static let validation = AgentCoreException.validation

    /// `NAME` of `arn:…:runtime/NAME-XXXXXXXXXX` (an ARN already checked).
    static func runtimeName(of arn: String) -> String {
        let resource = arn.split(separator: "/", maxSplits: 1).last ?? ""
        return String(resource[..<(resource.lastIndex(of: "-") ?? resource.endIndex)])
    }
}

extension AWSErrorResponse {
    init(_ exception: AgentCoreException, _ message: String) {
        self.init(status: exception.httpStatus, type: exception.errorType, message: message)
    }
}
