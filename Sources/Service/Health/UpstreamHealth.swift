import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import Synchronization

/// How Bedrock calls have been going, for `/health`: the caller identity can be verified (and is
/// cached for minutes) while every InvokeAgent call fails to connect, so the outcome of each stream
/// is recorded here too.
///
/// A stream counts when it got its answer (a success) or when it failed for a reason that says
/// Bedrock, the network to it or the credentials are in trouble; failures that are the request's
/// own (an unknown agent, a refused input, the client leaving) say nothing of the upstream. The
/// service is `degraded` while the most recent such outcome is a failure less than
/// ``failureWindow`` old: still 200, so that a Bedrock outage never makes ECS replace healthy tasks.
final class UpstreamHealth: Sendable {
    /// What /health reports.
    struct Report: Sendable, Equatable {
        /// The most recent upstream failure, if any was seen.
        var lastErrorCode: String?
        /// When it happened, by the wall clock.
        var lastErrorDate: Date?
        /// Failures since the last success.
        var consecutiveFailures: Int
        /// The most recent outcome is a failure within the window.
        var failing: Bool
    }

    /// How long an upstream failure keeps the service degraded without a success after it.
    let failureWindow: Duration

    private struct State {
        var lastErrorCode: String?
        var lastErrorAt: ContinuousClock.Instant?
        var lastErrorDate: Date?
        var consecutiveFailures = 0
    }

    private let state = Mutex(State())

    init(failureWindow: Duration = .seconds(60)) {
        self.failureWindow = failureWindow
    }

    /// Records how a stream ended.
    func record(_ outcome: Result<Void, StreamFailure>) {
        switch outcome {
        case .success:
            self.state.withLock { $0.consecutiveFailures = 0 }
        case .failure(let failure):
            guard Self.isUpstreamTrouble(failure.kind) else { return }
            self.state.withLock { state in
                state.lastErrorCode = failure.errorCode
                state.lastErrorAt = .now
                state.lastErrorDate = Date()
                state.consecutiveFailures += 1
            }
        }
    }

    func report(now: ContinuousClock.Instant = .now) -> Report {
        self.state.withLock { state in
            let recent = state.lastErrorAt.map { now - $0 < self.failureWindow } ?? false
            return Report(
                lastErrorCode: state.lastErrorCode,
                lastErrorDate: state.lastErrorDate,
                consecutiveFailures: state.consecutiveFailures,
                failing: recent && state.consecutiveFailures > 0
            )
        }
    }

    /// Whether a failure says the upstream (Bedrock, the way to it, the credentials) is in trouble.
    static func isUpstreamTrouble(_ kind: StreamFailure.Kind) -> Bool {
        switch kind {
        case .bedrock(.internalServer), .bedrock(.badGateway), .bedrock(.modelNotReady), .bedrock(.throttling),
            .bedrock(.accessDenied), .bedrock(.dependencyFailed), .agentCore(.internalServer), .agentCore(.throttling),
            .agentCore(.accessDenied), .unknownUpstreamError, .upstreamUnavailable,
            .connectFailed, .connectTimeout, .firstEventTimeout, .idleTimeout, .corruptFrame, .streamCut,
            .credentialsUnavailable:
            true
        case .bedrock(.conflict), .bedrock(.resourceNotFound), .bedrock(.serviceQuotaExceeded), .bedrock(.validation),
            .agentCore(.resourceNotFound), .agentCore(.retryableConflict), .agentCore(.runtimeClientError),
            .agentCore(.serviceQuotaExceeded), .agentCore(.validation), .agentError, .streamTimeout, .serverShuttingDown, .clientDisconnected,
            .internalError:
            false
        }
    }
}
