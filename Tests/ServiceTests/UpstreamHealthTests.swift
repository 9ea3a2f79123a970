import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("UpstreamHealth")
struct UpstreamHealthTests {
    @Test("a failure that says the upstream is in trouble degrades until a success or the window's end")
    func failing() {
        let health = UpstreamHealth(failureWindow: .seconds(60))
        #expect(health.report().failing == false)
        health.record(.failure(StreamFailure(.connectFailed, detail: "refused")))
        health.record(.failure(StreamFailure(.bedrock(.throttling), detail: "slow down")))
        let report = health.report()
        #expect(report.failing)
        #expect(report.consecutiveFailures == 2)
        #expect(report.lastErrorCode == "throttled")
        #expect(health.report(now: .now + .seconds(61)).failing == false, "an old failure no longer degrades")
        health.record(.success(()))
        #expect(health.report().failing == false)
        #expect(health.report().lastErrorCode == "throttled", "the last error is still reported")
    }

    @Test("failures that are the request's own say nothing of the upstream")
    func requestsOwnFailures() {
        let health = UpstreamHealth()
        for kind: StreamFailure.Kind in [
            .clientDisconnected, .bedrock(.validation), .bedrock(.resourceNotFound), .streamTimeout, .serverShuttingDown,
        ] {
            health.record(.failure(StreamFailure(kind, detail: "")))
        }
        #expect(health.report() == .init(lastErrorCode: nil, lastErrorDate: nil, consecutiveFailures: 0, failing: false))
    }
}
