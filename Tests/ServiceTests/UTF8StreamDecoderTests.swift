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

@Suite("UTF-8 across chunks")
struct UTF8StreamDecoderTests {
    func decode(_ chunks: [[UInt8]]) -> [UInt8] {
        var decoder = UTF8StreamDecoder()
        var output: [UInt8] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { decoder.decode($0, into: &output) }
        }
        decoder.finish(into: &output)
        return output
    }

    @Test("any split of valid text decodes to the same text", arguments: ["Café", "日本語のテキスト", "emoji 😀🎉 and ascii", "x"])
    func splits(text: String) {
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            #expect(self.decode([Array(bytes[..<cut]), Array(bytes[cut...])]) == bytes, "cut at \(cut)")
        }
        #expect(self.decode(bytes.map { [$0] }) == bytes, "byte by byte")
    }

    @Test(
        "invalid bytes become U+FFFD as String(decoding:) would",
        arguments: [
            [0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0x61, 0x80, 0x62], [0xF4, 0x90, 0x80, 0x80],
        ] as [[UInt8]]
    )
    func invalid(bytes: [UInt8]) {
        let expected = Array(String(decoding: bytes, as: UTF8.self).utf8)
        #expect(self.decode([bytes]) == expected)
        #expect(self.decode(bytes.map { [$0] }) == expected, "byte by byte")
    }

    @Test("an incomplete character is held, not emitted, until the next chunk")
    func holds() {
        var decoder = UTF8StreamDecoder()
        var output: [UInt8] = []
        [UInt8]([0x61, 0xF0, 0x9F]).withUnsafeBytes { decoder.decode($0, into: &output) }
        #expect(output == [0x61])
        [UInt8]([0x98, 0x80]).withUnsafeBytes { decoder.decode($0, into: &output) }
        #expect(output == [0x61] + Array("😀".utf8))
    }
}
