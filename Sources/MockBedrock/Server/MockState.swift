import AWSAccess
import BedrockAgentRuntime
import Foundation
import Synchronization

/// What MockBedrock remembers between requests: paused return-control sessions, how often each
/// failing agent has failed, the credentials it issued, and counters for tests and benchmarks.
final class MockState: Sendable {
    /// A session waiting for the results of a `returnControl`.
    struct Pause: Sendable, Equatable {
        var agentId: String
        var invocationId: String
        var resumeAt: Int
    }

    /// Counters, served at `GET /_mock/stats`.
    struct Statistics: Sendable, Codable, Equatable {
        /// TCP connections accepted.
        var connections = 0
        /// InvokeAgent calls received, answered or refused.
        var invocations = 0
        /// Streams that began (status 200 sent).
        var streamsStarted = 0
        /// Streams that ran to their scripted end.
        var streamsCompleted = 0
        /// Streams that ended early because the client went away.
        var streamsInterrupted = 0
        /// Credentials issued by the STS and container endpoints.
        var credentialsIssued = 0
        /// Requests for the OIDC issuer's JWKS.
        var jwksRequests = 0
        /// Tokens signed by the OIDC issuer.
        var tokensIssued = 0
    }

    /// What an accepted InvokeAgent or InvokeAgentRuntime call asked for, served at
    /// `GET /_mock/invocations`: tests check there what a service sent (the session it derived,
    /// the attributes it set). For a runtime, `agentId` is its name and `agentAliasId` its
    /// qualifier (`DEFAULT` when none was named).
    struct Invocation: Sendable, Codable, Equatable {
        var agentId: String
        var agentAliasId: String
        var sessionId: String
        var memoryId: String?
        var sessionAttributes: [String: String]?
        var promptSessionAttributes: [String: String]?
        /// The invocation results sent back, and the invocation they answer.
        var invocationId: String?
        var returnControlInvocationResults: [JSONValue]?
        /// An AgentCore Runtime's ARN, the user it was invoked for, and the payload (when JSON).
        var agentRuntimeArn: String?
        var runtimeUserId: String?
        var payload: JSONValue?
        /// The W3C trace context a runtime's caller sent (`traceparent`, `tracestate`).
        var traceParent: String?
        var traceState: String?
    }

    /// The most recent invocations kept.
    static let invocationsKept = 1_000

    private struct Memory {
        var pauses: [String: Pause] = [:]
        var firstCalls: [String: Int] = [:]
        var issued: [String: AWSCredentials] = [:]
        var statistics = Statistics()
        var invocations: [Invocation] = []
    }

    private let memory = Mutex(Memory())

    /// Test credentials, which never expire.
    let testCredentials: AWSCredentials?

    init(testCredentials: AWSCredentials?) {
        self.testCredentials = testCredentials
    }

    var statistics: Statistics {
        self.memory.withLock { $0.statistics }
    }

    func count(_ counter: WritableKeyPath<Statistics, Int>) {
        self.memory.withLock { $0.statistics[keyPath: counter] += 1 }
    }

    /// Remembers an accepted InvokeAgent call, forgetting the oldest past ``invocationsKept``.
    func record(_ invocation: Invocation) {
        self.memory.withLock { memory in
            if memory.invocations.count >= Self.invocationsKept {
                memory.invocations.removeFirst(memory.invocations.count - Self.invocationsKept + 1)
            }
            memory.invocations.append(invocation)
        }
    }

    var invocations: [Invocation] {
        self.memory.withLock { $0.invocations }
    }

    // MARK: Return control

    func pause(session sessionId: String, _ pause: Pause) {
        self.memory.withLock { $0.pauses[sessionId] = pause }
    }

    /// Where to resume a session paused for `invocationId`, consuming the pause; or why not.
    func resume(session sessionId: String, agentId: String, invocationId: String?) -> Result<Int, ResumeRefusal> {
        self.memory.withLock { memory in
            guard let pause = memory.pauses[sessionId], pause.agentId == agentId else {
                return .failure(.noPendingInvocation)
            }
            guard let invocationId else {
                return .failure(.missingInvocationId)
            }
            guard invocationId == pause.invocationId else {
                return .failure(.wrongInvocationId(invocationId))
            }
            memory.pauses[sessionId] = nil
            return .success(pause.resumeAt)
        }
    }

    /// Why return-control results cannot continue a session.
    enum ResumeRefusal: Error, Equatable {
        case noPendingInvocation
        case missingInvocationId
        case wrongInvocationId(String)

        var message: String {
            switch self {
            case .noPendingInvocation: "The session has no pending returnControl invocation to take results for."
            case .missingInvocationId: "sessionState.invocationId is required with returnControlInvocationResults."
            case .wrongInvocationId(let id): "The invocationId \(id) does not match the pending returnControl invocation of the session."
            }
        }
    }

    // MARK: Scripted first calls

    /// Whether the call arriving now is among the first `times` of `key` (an agent id, for an
    /// agent scripted to fail or break its first calls; `nil`: every call is).
    func isAmongFirstCalls(of key: String, times: Int?) -> Bool {
        guard let times else { return true }
        return self.memory.withLock { memory in
            let seen = memory.firstCalls[key, default: 0]
            guard seen < times else { return false }
            memory.firstCalls[key] = seen + 1
            return true
        }
    }

    // MARK: Credentials

    /// What the mock knows of an access key id.
    enum KeyStatus: Equatable {
        case valid(AWSCredentials)
        case expired
        case unknown
    }

    func status(ofAccessKey accessKeyID: String, now: Date) -> KeyStatus {
        if let testCredentials, testCredentials.accessKeyID == accessKeyID {
            return .valid(testCredentials)
        }
        guard let issued = self.memory.withLock({ $0.issued[accessKeyID] }) else {
            return .unknown
        }
        if let expiration = issued.expiration, expiration <= now {
            return .expired
        }
        return .valid(issued)
    }

    /// New temporary credentials, valid for `lifetime`, which the mock will accept until then.
    func issueCredentials(lifetime: Duration, now: Date) -> AWSCredentials {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        let credentials = AWSCredentials(
            accessKeyID: "ASIA" + Self.randomString(16, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
            secretAccessKey: Self.randomString(40, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            sessionToken: "MockBedrockSession/" + Self.randomString(64, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            expiration: now.addingTimeInterval(seconds)
        )
        self.memory.withLock { memory in
            memory.issued[credentials.accessKeyID] = credentials
            memory.statistics.credentialsIssued += 1
        }
        return credentials
    }

    private static func randomString(_ length: Int, from alphabet: String) -> String {
        let characters = Array(alphabet)
        return String((0..<length).map { _ in characters.randomElement()! })
    }
}
