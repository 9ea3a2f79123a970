import AgentRequest
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import AgentStreamingService

/// ``PendingInvocations`` on its own: what a task knows of each session's invocations, the
/// refusals it makes from that, and what it forgets. ``ChatRequest``'s reading of tool outputs too.
@Suite("Pending invocations")
struct PendingInvocationsTests {
    static let session = InvokeAgentTarget(agentId: "AGENT", agentAliasId: "TSTALIASID", sessionId: "s-1")
    static let configuration = Result {
        try ServiceConfiguration(environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: nil)
    }

    /// A results request for `invocationId` in ``session``.
    static func results(_ invocationId: String) throws -> StreamRequest {
        try StreamRequest(
            fields: [
                "agent_id": "AGENT", "session_id": "s-1", "invocation_id": .string(invocationId),
                "return_control_invocation_results": [["functionResult": ["actionGroup": "G", "function": "f"]]],
            ],
            configuration: Self.configuration.get()
        )
    }

    static func output(_ invocationId: String, _ index: Int, _ toolName: String) -> PendingInvocations.ToolOutput {
        .init(toolCallId: "\(invocationId)#\(index)", index: index, toolName: toolName)
    }

    @Test("asked, then answered, then superseded: each verdict, per session and agent")
    func verdicts() {
        let ledger = PendingInvocations()
        #expect(ledger.verdict(Self.session, invocationId: "one") == .unknown)
        ledger.asked(Self.session, invocationId: "one", tools: ["G/f", "G/GET /x"])
        #expect(ledger.verdict(Self.session, invocationId: "one") == .pending(tools: ["G/f", "G/GET /x"]))
        var otherAgent = Self.session
        otherAgent.agentId = "OTHER"
        #expect(ledger.verdict(otherAgent, invocationId: "one") == .unknown, "a session belongs to its agent and alias")
        ledger.answered(Self.session, invocationId: "one")
        #expect(ledger.verdict(Self.session, invocationId: "one") == .answered)

        ledger.asked(Self.session, invocationId: "two", tools: ["G/f"])
        ledger.asked(Self.session, invocationId: "three", tools: ["G/f"])
        #expect(ledger.verdict(Self.session, invocationId: "two") == .superseded(by: "three"))
        #expect(ledger.verdict(Self.session, invocationId: "one") == .answered)
        #expect(ledger.verdict(Self.session, invocationId: "three") == .pending(tools: ["G/f"]))
        // An id asked for again (a scripted agent) is pending again.
        ledger.asked(Self.session, invocationId: "one", tools: ["G/f"])
        #expect(ledger.verdict(Self.session, invocationId: "one") == .pending(tools: ["G/f"]))
        #expect(ledger.verdict(Self.session, invocationId: "three") == .superseded(by: "one"))
    }

    @Test("a session keeps its last few closed ids; sessions beyond the capacity are forgotten, never refused")
    func forgetting() {
        let ledger = PendingInvocations(capacity: 3)
        for index in 0..<(PendingInvocations.closedPerSession + 2) {
            ledger.asked(Self.session, invocationId: "inv-\(index)", tools: ["G/f"])
            ledger.answered(Self.session, invocationId: "inv-\(index)")
        }
        #expect(ledger.verdict(Self.session, invocationId: "inv-0") == .unknown)
        #expect(ledger.verdict(Self.session, invocationId: "inv-\(PendingInvocations.closedPerSession + 1)") == .answered)

        let sessions = (0..<8).map { InvokeAgentTarget(agentId: "AGENT", agentAliasId: "TSTALIASID", sessionId: "many-\($0)") }
        for session in sessions {
            ledger.asked(session, invocationId: "x", tools: ["G/f"])
        }
        #expect(ledger.verdict(sessions[0], invocationId: "x") == .unknown)
        #expect(ledger.verdict(sessions[7], invocationId: "x") == .pending(tools: ["G/f"]))
        // A session read from the older generation moves back to the newer one when it changes.
        ledger.asked(sessions[4], invocationId: "y", tools: ["G/f"])
        for session in sessions.suffix(2) { ledger.answered(session, invocationId: "x") }
        #expect(ledger.verdict(sessions[4], invocationId: "x") == .superseded(by: "y"))
    }

    @Test("results for an invocation known to be stale are refused naming it; unknown ones go on to Bedrock")
    func staleRequests() throws {
        let ledger = PendingInvocations()
        try ledger.check(Self.results("never-seen"), outputs: nil, field: .invocationId)
        ledger.asked(Self.session, invocationId: "one", tools: ["G/f"])
        try ledger.check(Self.results("one"), outputs: nil, field: .invocationId)
        ledger.answered(Self.session, invocationId: "one")
        let answered = #expect(throws: APIError.self) { try ledger.check(Self.results("one"), outputs: nil, field: .invocationId) }
        #expect(answered?.status == .badRequest)
        #expect(answered?.message.contains("invocation_id") == true)
        #expect(
            answered?.message.contains("'one'") == true && answered?.message.contains("already sent") == true
                && answered?.message.hasPrefix("invocation_id names the invocation 'one', which is stale") == true,
            "\(answered?.message ?? "")"
        )

        ledger.asked(Self.session, invocationId: "two", tools: ["G/f"])
        ledger.asked(Self.session, invocationId: "three", tools: ["G/f"])
        let superseded = #expect(throws: APIError.self) { try ledger.check(Self.results("two"), outputs: nil, field: .messages) }
        #expect(superseded?.message.contains("'two'") == true && superseded?.message.contains("'three'") == true, "\(superseded?.message ?? "")")
        #expect(superseded?.message.hasPrefix("messages answer the invocation 'two', which is stale") == true)
    }

    @Test(
        "a chat's outputs answer each input of the pending invocation once, under its tool's name",
        arguments: [
            ([output("inv", 0, "G/f")], "lack the output of the tool call 'inv#1' ('G/GET /x')"),
            ([output("inv", 0, "G/f"), output("inv", 2, "G/f")], "'inv#2' the agent did not ask for (the invocation 'inv' has 2 inputs)"),
            ([output("inv", 0, "G/g"), output("inv", 1, "G/GET /x")], "'inv#0' as 'G/g', but the agent asked for 'G/f'"),
        ]
    )
    func outputsAgainstInputs(outputs: [PendingInvocations.ToolOutput], problem: String) throws {
        let ledger = PendingInvocations()
        ledger.asked(Self.session, invocationId: "inv", tools: ["G/f", "G/GET /x"])
        let error = #expect(throws: APIError.self) { try ledger.check(Self.results("inv"), outputs: outputs, field: .messages) }
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
        try ledger.check(Self.results("inv"), outputs: [Self.output("inv", 1, "G/GET /x"), Self.output("inv", 0, "G/f")], field: .messages)
    }

    /// An assistant message as `useChat` keeps it across a continued answer: the tool calls of
    /// every step, the earlier ones answered before.
    static let continuedAnswer = """
        {"id":"c","agent_id":"AGENT","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"Go"}]},
         {"id":"a","role":"assistant","parts":[
          {"type":"step-start"},
          {"type":"dynamic-tool","toolName":"G/f","toolCallId":"first#0","state":"output-available","input":{},"output":"old"},
          {"type":"step-start"},{"type":"text","text":"More."},
          {"type":"dynamic-tool","toolName":"G/GET /x","toolCallId":"second#1","state":"output-available","input":{},"output":{"a":1}},
          {"type":"dynamic-tool","toolName":"G/f","toolCallId":"second#0","state":"output-error","input":{},"errorText":"boom"}]}]}
        """

    @Test("a continued answer's message: the latest invocation's outputs, in input order; a call answered twice is refused")
    func latestInvocation() throws {
        let chat = try ChatRequest(parsing: ByteBuffer(string: Self.continuedAnswer), defaultAgentId: nil)
        #expect(chat.streamFields["invocation_id"] == "second")
        #expect(chat.toolOutputs == [Self.output("second", 0, "G/f"), Self.output("second", 1, "G/GET /x")])
        let results = chat.streamFields["return_control_invocation_results"]?.arrayValue ?? []
        #expect(results.count == 2)
        #expect(results.first?["functionResult"]?["responseState"] == "FAILURE")
        #expect(results.first?["functionResult"]?["responseBody"]?["TEXT"]?["body"] == "boom")
        #expect(results.last?["apiResult"]?["apiPath"] == "/x")
        #expect(results.last?["apiResult"]?["responseBody"]?["application/json"]?["body"] == #"{"a":1}"#)

        let twice = Self.continuedAnswer.replacingOccurrences(of: "second#1", with: "second#0")
        let error = #expect(throws: APIError.self) { try ChatRequest(parsing: ByteBuffer(string: twice), defaultAgentId: nil) }
        #expect(error?.message.contains("answer the tool call 'second#0' twice") == true, "\(error?.message ?? "")")
    }
}
