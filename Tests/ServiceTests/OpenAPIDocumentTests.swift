import AgentRequest
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Testing

@testable import AgentStreamingService

/// The OpenAPI document's patterns mean what the service's checks do; the document is checked
/// against the running service in Tests/Contract.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static func matches(_ pattern: String, _ value: String) -> Bool {
        let expression = try! NSRegularExpression(pattern: pattern)
        return expression.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
    }

    @Test(
        "each identifier's pattern accepts exactly what its rule accepts",
        arguments: [
            "", "a", "ab", "AGENT00001", "AGENT000012", "a-b", "a:b.c_d-e", "a/b", "é", String(repeating: "a", count: 100),
            String(repeating: "a", count: 101), "a b", "a\u{0}b",
        ]
    )
    func bedrockIdentifiers(value: String) {
        for rule in [BedrockIdentifier.agentId, .agentAliasId, .sessionId, .memoryId] {
            #expect(Self.matches(rule.pattern, value) == (rule.violation(in: value) == nil), "\(rule.field): \(value.debugDescription)")
        }
    }

    @Test(
        "the runtime ARN and qualifier patterns accept exactly what their rules accept",
        arguments: [
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-Ab12Cd34Ef",
            "arn:aws-us-gov:bedrock-agentcore:us-gov-west-1:123456789012:runtime/a_b-0123456789",
            "arn:aws:bedrock-agentcore:us-east-1:12345678901:runtime/agent-Ab12Cd34Ef",
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/1agent-Ab12Cd34Ef",
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-Ab12Cd34E",
            "arn:aws:bedrock-agentcore:US-EAST-1:123456789012:runtime/agent-Ab12Cd34Ef",
            "arn:aws:bedrock:us-east-1:123456789012:runtime/agent-Ab12Cd34Ef",
            "arn:aws-:bedrock-agentcore:us-east-1:123456789012:runtime/agent-Ab12Cd34Ef",
            "DEFAULT", "endpoint_1", "1endpoint", String(repeating: "a", count: 48), String(repeating: "a", count: 49), "",
        ]
    )
    func agentCoreIdentifiers(value: String) {
        for rule in [AgentCoreIdentifier.runtimeArn, .qualifier] {
            #expect(Self.matches(rule.pattern, value) == (rule.violation(in: value) == nil), "\(rule.field): \(value)")
        }
    }

    @Test(
        "blank is the same in the pattern and in the check",
        arguments: ["x", " ", "\t\n\r", "\u{3000}\u{2028}\u{FEFF}", "\u{85}", " a ", "\u{200B}"]
    )
    func blank(text: String) {
        #expect(Self.matches(StreamRequest.notBlankPattern, text) == !StreamRequest.isBlank(text), "\(text.debugDescription)")
    }

    @Test("every error code is documented: the stream's in StreamErrorCode, the refusals under their statuses")
    func errorCodes() throws {
        var configuration = try ServiceConfiguration(environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: nil)
        configuration.auth.methods = [.apiKey, .jwt]
        configuration.auth.principalTokensPerHour = 1_000
        let document = OpenAPIDocument.document(configuration: configuration)
        let codes = document["components"]?["schemas"]?["StreamErrorCode"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(codes == StreamFailure.allErrorCodes)
        #expect(codes?.contains("throttled") == true && codes?.contains("agent_error") == true && codes?.contains("client_disconnected") == false)
        let statuses = OpenAPIDocument.errorStatuses(configuration: configuration, protected: true)
        let documented = Set(statuses.values.joined())
        let refusals: [APIError] = [
            .invalidJSON("x"), .invalidField("f", "x"), .agentNotAllowed, .unsupportedMediaType, .tooLarge(limit: 1),
            .tooManyStreams(retryAfterSeconds: 1), .shuttingDown, .authenticationRequired(methods: [.jwt]), .invalidCredentials("x"),
            .authenticationUnavailable, .rateLimited("x", retryAfterSeconds: 1), .tokenBudgetExhausted(tokensPerHour: 1, retryAfterSeconds: 1),
        ]
        for refusal in refusals {
            #expect(documented.contains(refusal.code), "\(refusal.code)")
            #expect(statuses[Int(refusal.status.code)]?.contains(refusal.code) == true, "\(refusal.code) under \(refusal.status.code)")
        }
    }
}
