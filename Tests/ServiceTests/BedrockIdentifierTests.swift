import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("Bedrock identifiers")
struct BedrockIdentifierTests {
    @Test(
        "ids are checked by length in characters and by character, whether ASCII or not",
        arguments: [
            ("AGENT12345", "agentId", nil), ("AGENT123456", "agentId", "1 to 10 characters long, got 11"),
            ("a-b", "agentId", "may contain only ASCII letters and digits, got '-'"), ("é", "agentId", "only ASCII letters and digits, got 'é'"),
            ("a\u{7}", "agentId", "only ASCII letters and digits, got a control character"),
            ("user-42:chat.7_x", "sessionId", nil), ("x", "sessionId", "2 to 100 characters long, got 1"),
            ("ü", "sessionId", "2 to 100 characters long, got 1"), ("日本", "sessionId", "only ASCII letters, digits and the characters -.:_, got '日'"),
            ("e\u{301}x", "sessionId", "only ASCII letters, digits and the characters -.:_, got 'e\u{301}'"),
            (String(repeating: "a", count: 101), "sessionId", "got 101"),
        ] as [(String, String, String?)]
    )
    func rules(value: String, field: String, problem: String?) {
        let rule = field == "agentId" ? BedrockIdentifier.agentId : .sessionId
        let violation = rule.violation(in: value)
        if let problem {
            #expect(violation?.contains(problem) == true, "\(violation ?? "no violation")")
        } else {
            #expect(violation == nil)
        }
    }
}
