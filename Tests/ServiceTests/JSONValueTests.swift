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

@Suite("JSON values")
struct JSONValueTests {
    @Test("every kind of JSON value decodes as itself, nested too, and encodes back")
    func kinds() throws {
        let text = #"{"s":"x","o":{"a":1},"n":1.5,"i":-2,"t":true,"f":false,"z":null,"a":[1,"1",true,null,{},[]]}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let expected: JSONValue = .object([
            "s": .string("x"), "o": .object(["a": .number(1)]), "n": .number(1.5), "i": .number(-2),
            "t": .bool(true), "f": .bool(false), "z": .null,
            "a": .array([.number(1), .string("1"), .bool(true), .null, .object([:]), .array([])]),
        ])
        #expect(value == expected)
        #expect(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value)) == expected)
    }
}
