import BedrockAgentCore
import Testing

/// AgentCore's rules for what InvokeAgentRuntime names, as the service and MockBedrock apply them,
/// and the URL the ARN and qualifier make.
@Suite("AgentCore identifiers")
struct AgentCoreIdentifierTests {
    static let arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-Ab12Cd34Ef"

    @Test(
        "runtime ARNs: the model's RuntimeArn pattern, field by field",
        arguments: [
            (arn, true),
            ("arn:aws-cn:bedrock-agentcore:cn-north-1:123456789012:runtime/A-0123456789", true),
            ("arn:aws-us-gov:bedrock-agentcore:us-gov-west-1:123456789012:runtime/a_b_c-abcdefghij", true),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent", false),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my-agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-Ab12Cd34E", false),
            ("arn:aws:bedrock-agentcore:us-east-1:12345678901:runtime/my_agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock-agentcore:US-EAST-1:123456789012:runtime/my_agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock:us-east-1:123456789012:runtime/my_agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:agent/my_agent-Ab12Cd34Ef", false),
            ("arn:awsx:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/1agent-Ab12Cd34Ef", false),
            ("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/" + String(repeating: "a", count: 49) + "-Ab12Cd34Ef", false),
            ("", false),
        ]
    )
    func runtimeArns(arn: String, valid: Bool) {
        #expect((AgentCoreIdentifier.runtimeArn.violation(in: arn) == nil) == valid, "\(arn)")
    }

    @Test("qualifiers and runtime session ids")
    func qualifiersAndSessions() {
        #expect(AgentCoreIdentifier.qualifier.violation(in: "DEFAULT") == nil)
        #expect(AgentCoreIdentifier.qualifier.violation(in: "prod_v2") == nil)
        #expect(AgentCoreIdentifier.qualifier.violation(in: "prod-v2") != nil)
        #expect(AgentCoreIdentifier.qualifier.violation(in: "") != nil)
        #expect(AgentCoreIdentifier.runtimeSessionId.violation(in: String(repeating: "s", count: 33)) == nil)
        #expect(AgentCoreIdentifier.runtimeSessionId.violation(in: String(repeating: "s", count: 32))?.contains("33 to 256") == true)
        #expect(AgentCoreIdentifier.runtimeSessionId.violation(in: String(repeating: "s", count: 257)) != nil)
        #expect(AgentCoreIdentifier.runtimeSessionId.violation(in: String(repeating: "s", count: 32) + " ") != nil)
    }

    @Test("the URL: the ARN percent-encoded as one path segment, and the qualifier as a query")
    func path() {
        let target = AgentRuntimeTarget(arn: Self.arn, qualifier: "DEFAULT", sessionId: String(repeating: "s", count: 40))
        #expect(
            target.path
                == "/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fmy_agent-Ab12Cd34Ef/invocations?qualifier=DEFAULT"
        )
        #expect(target.violation == nil)
        var unqualified = target
        unqualified.qualifier = nil
        #expect(unqualified.path.hasSuffix("/invocations"))
        unqualified.sessionId = "short"
        #expect(unqualified.violation?.contains("runtimeSessionId") == true)
    }

    @Test("errors by their x-amzn-ErrorType, with the model's statuses")
    func exceptions() {
        #expect(AgentCoreException.allCases.count == 8)
        #expect(AgentCoreException(errorType: "ThrottlingException:http://internal.amazon.com/") == .throttling)
        #expect(AgentCoreException(errorType: "com.amazonaws.bedrockagentcore#RuntimeClientError") == .runtimeClientError)
        #expect(AgentCoreException.runtimeClientError.httpStatus == 424)
        #expect(AgentCoreException.serviceQuotaExceeded.httpStatus == 402)
        #expect(AgentCoreException(errorType: "SomethingElse") == nil)
    }
}
