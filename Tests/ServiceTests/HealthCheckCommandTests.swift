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

@testable import Service

@Suite("Health check command", .timeLimit(.minutes(2)))
struct HealthCheckCommandTests {
    @Test("exits 0 against a healthy service and fails against nothing")
    func healthcheck() async throws {
        try await withService { service in
            let healthy = try HealthCheck.parse(["--url", service.baseURL + "/health"])
            try await healthy.run()
        }
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closed = refusing.port
        let unhealthy = try HealthCheck.parse(["--url", "http://127.0.0.1:\(closed)/health", "--timeout", "2"])
        await #expect(throws: (any Error).self) { try await unhealthy.run() }
    }
}
