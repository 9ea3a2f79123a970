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

@Suite("JSON text")
struct JSONTextTests {
    @Test(
        "escaping round-trips through a JSON parser",
        arguments: ["plain", "quote \" and \\ backslash", "lines\nand\ttabs\r", "\u{0}\u{1}\u{1F}", "ünïcödé 😀", "</script>"]
    )
    func roundTrip(text: String) throws {
        var buffer = ByteBuffer()
        JSONText.writeString(text, to: &buffer)
        let decoded = try JSONDecoder().decode(String.self, from: Data(buffer.readableBytesView))
        #expect(decoded == text)
    }
}
