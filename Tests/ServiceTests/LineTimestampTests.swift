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

    @Test("the text of an instant is AWSDateFormat's ISO 8601, across days, months, leap years and centuries")
    func formatsInstants() {
        var instants = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 253_402_300_799_999]
        // February 29 of 2000 and 2024, the end of 1999, and instants spread over 1970 to 9999.
        instants += [951_825_600_123, 1_709_208_000_456, 946_684_799_999]
        var random = SystemRandomNumberGenerator()
        instants += (0..<2_000).map { _ in Int.random(in: 0...253_402_300_799_999, using: &random) }
        for milliseconds in instants {
            var buffer = ByteBuffer()
            LineTimestamp.write(epochMilliseconds: milliseconds, to: &buffer)
            let date = Date(timeIntervalSince1970: Double(milliseconds / 1000) + Double(milliseconds % 1000) / 1000 + 0.0001)
            #expect(String(buffer: buffer) == AWSDateFormat.iso8601(date, withMilliseconds: true), "\(milliseconds)")
        }
    }
}
