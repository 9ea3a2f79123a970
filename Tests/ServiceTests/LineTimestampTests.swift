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

@Suite("Line timestamps")
struct LineTimestampTests {
    /// The second's text is cached for the whole process, so a stale cache would show as a time
    /// that lags the clock by whole seconds.
    @Test("each line's timestamp is the wall clock's time, in milliseconds, across seconds")
    func followsTheClock() async throws {
        for _ in 0..<3 {
            var buffer = ByteBuffer()
            let before = Date()
            LineTimestamp.write(to: &buffer)
            let after = Date()
            let text = String(buffer: buffer)
            let stamped = try #require(AWSDateFormat.parseISO8601(text), "not a timestamp: \(text)")
            #expect(stamped.timeIntervalSince(before) > -0.0011 && stamped.timeIntervalSince(after) < 0.0001, "\(text) outside [\(before), \(after)]")
            try await Task.sleep(for: .milliseconds(600))
        }
    }
}
