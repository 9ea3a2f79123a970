import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("Log line length")
struct LogLineLengthTests {
    @Test("a long value or message is cut and says how much was left out; short ones are kept")
    func capped() {
        let lines = Shared<[String]>([])
        let handler = PythonLoggingFormatHandler(label: "app", format: .json, level: .info) { line in lines.withLock { $0.append(line) } }
        var logger = Logger(label: "app") { _ in handler }
        logger.logLevel = .info
        logger.info("Agent invocation failed", metadata: ["detail": .string(String(repeating: "x", count: 1_000_000)), "short": "kept"])
        let line = lines.value[0]
        #expect(line.utf8.count < PythonLoggingFormatHandler.maxValueLength + 500)
        #expect(line.contains("… (983616 more characters)"))
        #expect(line.contains(#""short":"kept""#))
        #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a cut line is still JSON")
    }
}
