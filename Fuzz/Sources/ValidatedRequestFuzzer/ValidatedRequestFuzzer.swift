import AgentRequest
import Authentication
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import FuzzDriver
import NIOCore

/// Runs libFuzzer over ``fuzzOne``.
@main
enum ValidatedRequestFuzzer {
    static func main() {
        runLibFuzzer(fuzzOne)
    }
}

/// One input, read as both routes' bodies (`/api/agent/stream`'s and `/api/chat`'s), each under
/// every ``deployments`` entry. Besides crashes, hangs and memory errors, traps when a property
/// fails:
/// - a refusal names a field of the API and says what is wrong with it;
/// - an accepted request is one its upstream accepts: a Bedrock agent's ids, session and body
///   pass the service model's rules (``InvokeAgentTarget/violation``,
///   ``InvokeAgentRequest/violation``), a runtime's ARN, qualifier and session pass AgentCore's;
/// - an accepted request keeps the deployment's and the principal's limits: the input's length,
///   the allowed agents and runtimes, the principal's agents, its own session;
/// - the body sent upstream is JSON the strict parser reads back, and for a Bedrock agent it is
///   the request's (the same input text);
/// - validation is a function of the body: the same body is the same request, when it names its
///   session.
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let body = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    for deployment in deployments {
        checkStream(body, deployment)
        checkChat(body, deployment)
    }
    return 0
}

/// The rules and the caller one input is validated under.
struct Deployment {
    var rules: RequestRules
    var principal: Principal?
}

let helperArn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/helper_agent-abcdefghij"
let otherArn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/other-0123456789"

/// An open deployment called anonymously, and a restricted one called by a principal limited to
/// some agents, with debug mode and metering each way.
let deployments: [Deployment] = [
    Deployment(
        rules: RequestRules(
            maxInputCharacters: 25_000,
            defaultAgentAliasId: "TSTALIASID",
            allowedAgentIds: nil,
            agentCore: AgentCoreConfiguration(runtimes: ["helper": .init(arn: helperArn, qualifier: "prod")]),
            streamFinalResponse: true,
            debug: DebugPolicy(enabled: true),
            usageMetering: false
        ),
        principal: nil
    ),
    Deployment(
        rules: RequestRules(
            maxInputCharacters: 40,
            defaultAgentAliasId: "LIVE",
            allowedAgentIds: ["HELLO", "AGENT", "helper", "CAPMULTI"],
            agentCore: AgentCoreConfiguration(runtimes: ["helper": .init(arn: helperArn)], allowedArns: [helperArn, otherArn]),
            streamFinalResponse: false,
            debug: DebugPolicy(enabled: false),
            usageMetering: true
        ),
        principal: Principal(kind: .jwt, id: "user-7", agents: ["HELLO", "helper", "CAPMULTI"], forwardedClaims: ["tier": "gold"])
    ),
]

/// The fields a refusal may name.
let apiFields: Set<String> = [
    "input_text", "agent_id", "agent_alias_id", "session_id", "session_attributes", "prompt_session_attributes", "end_session",
    "memory_id", "enable_trace", "return_control_invocation_results", "invocation_id", "stream_final_response", "payload",
    "agent_runtime_arn", "qualifier", "the request",
    // `/api/chat`'s own.
    "id", "messages",
]

func checkStream(_ body: ByteBuffer, _ deployment: Deployment) {
    let request: StreamRequest
    do {
        request = try StreamRequest(body: body, rules: deployment.rules, principal: deployment.principal)
    } catch {
        checkRefusal(error)
        return
    }
    checkAccepted(request, deployment)
    // The same body, the same request; a body without a session gets a new one each time.
    guard let fields = try? StreamRequest.jsonObject(body), case .string? = fields["session_id"] else { return }
    let again = try? StreamRequest(body: body, rules: deployment.rules, principal: deployment.principal)
    precondition(again == request, "the same body validated twice gave two requests")
}

func checkChat(_ body: ByteBuffer, _ deployment: Deployment) {
    let chat: ChatRequest
    do {
        chat = try ChatRequest(body: body, defaultAgentId: "HELLO")
    } catch {
        checkRefusal(error)
        return
    }
    guard case .string(let session)? = chat.streamFields["session_id"] else {
        preconditionFailure("a chat request without a session")
    }
    precondition(BedrockIdentifier.sessionId.violation(in: session) == nil, "the chat's session id '\(session)' is not one Bedrock takes")
    if let outputs = chat.toolOutputs {
        guard case .array(let results)? = chat.streamFields["return_control_invocation_results"] else {
            preconditionFailure("tool outputs without their invocation results")
        }
        precondition(results.count == outputs.count, "\(outputs.count) tool outputs became \(results.count) results")
        let indices = outputs.map(\.index)
        precondition(indices == indices.sorted() && Set(indices).count == indices.count, "tool outputs out of order or repeated: \(indices)")
    }
    let request: StreamRequest
    do {
        request = try StreamRequest(fields: chat.streamFields, rules: deployment.rules, principal: deployment.principal)
    } catch {
        checkRefusal(error)
        return
    }
    checkAccepted(request, deployment)
}

func checkRefusal(_ refusal: RequestRefusal) {
    switch refusal {
    case .invalidJSON(let detail):
        precondition(!detail.isEmpty, "a JSON refusal that says nothing")
    case .invalidField(let field, let problem):
        precondition(apiFields.contains(field), "a refusal names '\(field)', which is no field of the API")
        precondition(!problem.isEmpty, "a refusal of '\(field)' that says nothing")
    case .agentNotAllowed:
        break
    }
}

func checkAccepted(_ request: StreamRequest, _ deployment: Deployment) {
    let rules = deployment.rules
    if let text = request.inputText {
        precondition(!StreamRequest.isBlank(text), "accepted a blank input")
        precondition(text.unicodeScalars.count <= rules.maxInputCharacters, "accepted an input over the limit")
    }
    if let agents = deployment.principal?.agents {
        precondition(agents.contains(request.target.agentId), "accepted '\(request.target.agentId)', which the principal may not invoke")
    }
    guard let upstream = try? request.upstreamBody.withUnsafeReadableBytes({ try StrictJSONParser.parse($0) }) else {
        preconditionFailure("the upstream body is not JSON the strict parser reads")
    }
    if let runtime = request.runtime {
        precondition(AgentCoreIdentifier.runtimeArn.violation(in: runtime.arn) == nil, "accepted an invalid runtime ARN")
        precondition(runtime.qualifier.map { AgentCoreIdentifier.qualifier.violation(in: $0) == nil } ?? true, "accepted an invalid qualifier")
        precondition(AgentCoreIdentifier.runtimeSessionId.violation(in: runtime.sessionId) == nil, "a runtime session AgentCore refuses")
        precondition(rules.agentCore.allows(arn: runtime.arn, allowedAgentIds: rules.allowedAgentIds), "accepted a runtime not allowed")
        guard case .object = upstream else { preconditionFailure("a runtime payload that is not an object") }
        return
    }
    let target = request.bedrockTarget
    precondition(target.violation == nil, "accepted a target Bedrock refuses: \(target.violation ?? "")")
    if let allowed = rules.allowedAgentIds {
        precondition(allowed.contains(target.agentId), "accepted '\(target.agentId)', which the deployment does not allow")
    }
    if let principal = deployment.principal {
        precondition(
            target.sessionId == SessionScope.bedrockSessionId(principal: principal, sessionId: request.target.sessionId),
            "a principal's request outside its own session"
        )
    }
    let sent: InvokeAgentRequest
    do {
        sent = try JSONDecoder().decode(InvokeAgentRequest.self, from: Data(buffer: request.upstreamBody))
    } catch {
        preconditionFailure("the InvokeAgent body does not decode: \(error)")
    }
    precondition(sent.violation == nil, "accepted a body Bedrock refuses: \(sent.violation ?? "")")
    precondition(sent.inputText == request.inputText, "the body sent is not the request's input")
    precondition(sent == request.invokeAgentRequest(debug: rules.debug, metering: rules.usageMetering), "the body sent is not the request's")
}
