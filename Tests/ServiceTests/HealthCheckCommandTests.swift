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

@Suite("Health check command", .timeLimit(.minutes(2)))
struct HealthCheckCommandTests {
    @Test("healthy against a healthy service, unhealthy against nothing, each saying so")
    func healthcheck() async throws {
        try await withService { service in
            let healthy = await HealthCheckCommand.probe(url: service.baseURL + "/health", timeout: 3)
            #expect(healthy.healthy)
            #expect(healthy.message == "healthy: \(service.baseURL)/health")
        }
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let url = "http://127.0.0.1:\(refusing.port)/health"
        let unhealthy = await HealthCheckCommand.probe(url: url, timeout: 2)
        #expect(!unhealthy.healthy)
        #expect(unhealthy.message.hasPrefix("unhealthy: \(url): "))
    }

    @Test("the command's options: the URL and the timeout")
    func options() throws {
        let command = try HealthCheckCommand.parse(["--url", "http://127.0.0.1:1/health", "--timeout", "2"])
        #expect(command.url == "http://127.0.0.1:1/health")
        #expect(command.timeout == 2)
        #expect(try HealthCheckCommand.parse([]).timeout == 3)
    }
}
