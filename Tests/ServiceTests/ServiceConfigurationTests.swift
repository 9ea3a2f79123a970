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

@Suite("Configuration")
struct ServiceConfigurationTests {
    func configuration(_ variables: [String: String]) throws(ConfigurationError) -> ServiceConfiguration {
        try ServiceConfiguration(environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a }, homeDirectory: nil)
    }

    @Test("defaults are those of the README")
    func defaults() throws {
        let configuration = try self.configuration([:])
        #expect(configuration.port == 8000)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.debugMode == false)
        #expect(configuration.allowedOrigins == .any)
        #expect(configuration.defaultAgentAliasId == "TSTALIASID")
        #expect(configuration.maxInputCharacters == 25_000)
        #expect(configuration.maxConcurrentStreams == 1_000)
        #expect(configuration.streamFinalResponse == true)
        #expect(configuration.upstreamMaxAttempts == 3)
        #expect(configuration.shutdownGrace == .seconds(25))
        #expect(configuration.keepAliveTimeout == .seconds(620))
        #expect(configuration.region.name == "us-east-1")
        #expect(configuration.endpoints.bedrockAgentRuntime == "https://bedrock-agent-runtime.us-east-1.amazonaws.com")
    }

    @Test("values are read and typed")
    func values() throws {
        let configuration = try self.configuration([
            "PORT": "9000", "DEBUG_MODE": "yes", "ALLOWED_ORIGINS": "https://a.example.com,http://localhost:3000",
            "LOG_LEVEL": "warning", "LOG_FORMAT": "JSON", "IDLE_TIMEOUT_SECONDS": "2.5", "ALLOWED_AGENT_IDS": "A1, B2",
            "KEEP_ALIVE_TIMEOUT_SECONDS": "90",
            "AWS_REGION": "eu-west-1",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.debugMode)
        #expect(configuration.allowedOrigins == .only(["https://a.example.com", "http://localhost:3000"]))
        #expect(configuration.logLevel == .warning)
        #expect(configuration.logFormat == .json)
        #expect(configuration.idleTimeout == .milliseconds(2500))
        #expect(configuration.keepAliveTimeout == .seconds(90))
        #expect(configuration.allowedAgentIds == ["A1", "B2"])
        #expect(configuration.endpoints.bedrockAgentRuntime == "https://bedrock-agent-runtime.eu-west-1.amazonaws.com")
    }

    @Test(
        "an invalid value stops start-up naming its variable",
        arguments: [
            ("PORT", "eighty"), ("PORT", "70000"), ("DEBUG_MODE", "maybe"), ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"),
            ("MAX_CONCURRENT_STREAMS", "0"), ("IDLE_TIMEOUT_SECONDS", "-1"), ("FIRST_EVENT_TIMEOUT_SECONDS", "soon"),
            ("ALLOWED_ORIGINS", "not a url"), ("ALLOWED_AGENT_IDS", "ok,not-ok"), ("DEFAULT_AGENT_ALIAS_ID", "alias_1"),
            ("UPSTREAM_MAX_ATTEMPTS", "11"), ("HOST", ""), ("KEEP_ALIVE_TIMEOUT_SECONDS", "0"),
        ]
    )
    func invalid(name: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) { try self.configuration([name: value]) }
        #expect(error?.source == name)
        #expect(error?.description.contains(name) == true)
    }

    @Test(".env files: comments, quotes, export; the real environment wins")
    func dotEnv() throws {
        let parsed = try DotEnvFile.parse(
            """
            # settings
            export PORT=9001
            DEBUG_MODE = true  # inline comment
            ALLOWED_ORIGINS="https://a.example.com, https://b.example.com"
            LOG_FORMAT='json'
            EMPTY=

            """,
            source: ".env"
        )
        #expect(
            parsed == [
                "PORT": "9001", "DEBUG_MODE": "true", "ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com",
                "LOG_FORMAT": "json", "EMPTY": "",
            ]
        )
        let error = #expect(throws: ConfigurationError.self) { try DotEnvFile.parse("PORT=1\nthis line is wrong\n", source: ".env") }
        #expect(error?.source == ".env:2")
        let unterminated = #expect(throws: ConfigurationError.self) { try DotEnvFile.parse("A=\"open\n", source: ".env") }
        #expect(unterminated?.source == ".env:1")
    }
}

@Suite("Connection limits in the configuration")
struct ConnectionLimitConfigurationTests {
    private func configuration(_ variables: [String: String], openFiles: Int) throws(ConfigurationError) -> ServiceConfiguration {
        try ServiceConfiguration(
            environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a },
            homeDirectory: nil,
            openFileLimit: openFiles
        )
    }

    @Test("MAX_CONNECTIONS defaults to half of what the descriptor reserve leaves", arguments: [(256, 96), (1_024, 480), (65_535, 32_735)])
    func derived(openFiles: Int, expected: Int) throws {
        #expect(try self.configuration([:], openFiles: openFiles).maxConnections == expected)
    }

    @Test("an explicit MAX_CONNECTIONS is kept below the descriptor limit, with a message that says why")
    func bounded() throws {
        #expect(try self.configuration(["MAX_CONNECTIONS": "960"], openFiles: 1_024).maxConnections == 960)
        let error = #expect(throws: ConfigurationError.self) { try self.configuration(["MAX_CONNECTIONS": "1000"], openFiles: 1_024) }
        #expect(error?.source == "MAX_CONNECTIONS")
        #expect(error?.description.contains("ulimit -n") == true)
        #expect(error?.description.contains("at most 960") == true)
    }

    @Test("REQUEST_READ_TIMEOUT_SECONDS defaults to 20 s and is read like the other timeouts")
    func readTimeout() throws {
        #expect(try self.configuration([:], openFiles: 1_024).requestReadTimeout == .seconds(20))
        #expect(try self.configuration(["REQUEST_READ_TIMEOUT_SECONDS": "1.5"], openFiles: 1_024).requestReadTimeout == .milliseconds(1_500))
        #expect(throws: ConfigurationError.self) { try self.configuration(["REQUEST_READ_TIMEOUT_SECONDS": "0"], openFiles: 1_024) }
    }
}
