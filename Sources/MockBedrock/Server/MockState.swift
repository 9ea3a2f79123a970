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

    /// How many calls of `key` came before this one (0 for the first), counting this one: which
    /// of an agent's recorded answers to replay.
    func nextTurn(of key: String) -> Int {
        self.memory.withLock { memory in
            let seen = memory.firstCalls[key, default: 0]
            memory.firstCalls[key] = seen + 1
            return seen
        }
    }

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
        guard let credentials = self.issuedCredentials(accessKeyID) else {
            return .unknown
        }
        if let expiration = credentials.expiration, expiration <= now {
            return .expired
        }
        return .valid(credentials)
    }

    /// New temporary credentials, valid for `lifetime`, which the mock will accept until then.
    ///
    /// Nothing is remembered: the key id carries the expiry (`ASIA`, seven base-32 digits of its
    /// Unix time, nine random ones) and the secret and session token are derived from it with the
    /// mock's own secret. A MockBedrock restarted with the same settings accepts what the one
    /// before it issued, as AWS does across its fleet (the soak restarts it mid-run).
    func issueCredentials(lifetime: Duration, now: Date) -> AWSCredentials {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        let expiry = UInt64(max(0, (now.timeIntervalSince1970 + seconds).rounded(.down)))
        let keyID = "ASIA" + Self.base32(expiry, digits: 7) + Self.randomString(9, from: Self.base32Alphabet)
        self.memory.withLock { $0.statistics.credentialsIssued += 1 }
        return self.issuedCredentials(keyID)!
    }

    /// The credentials behind an issued key id, or `nil` when it is not one.
    private func issuedCredentials(_ accessKeyID: String) -> AWSCredentials? {
        let characters = Array(accessKeyID)
        guard characters.count == 20, accessKeyID.hasPrefix("ASIA"),
            let expiry = Self.number(base32: characters[4..<11]), characters[11...].allSatisfy(Self.base32Alphabet.contains)
        else { return nil }
        let key = Array((self.testCredentials?.secretAccessKey ?? "MockBedrock issued credentials").utf8)
        func derived(_ purpose: String) -> [UInt8] { Hashing.hmacSHA256(key: key, data: Array("\(purpose):\(accessKeyID)".utf8)) }
        return AWSCredentials(
            accessKeyID: accessKeyID,
            secretAccessKey: String(Data(derived("secret")).base64EncodedString().prefix(40)),
            sessionToken: "MockBedrockSession/" + Hashing.hex(derived("token")),
            expiration: Date(timeIntervalSince1970: TimeInterval(expiry))
        )
    }

    private static let base32Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    private static func base32(_ value: UInt64, digits: Int) -> String {
        String((0..<digits).reversed().map { Self.base32Alphabet[Int((value >> (5 * UInt64($0))) & 31)] })
    }

    private static func number(base32 digits: ArraySlice<Character>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            guard let index = Self.base32Alphabet.firstIndex(of: digit) else { return nil }
            value = value << 5 | UInt64(index)
        }
        return value
    }

    private static func randomString(_ length: Int, from characters: [Character]) -> String {
        String((0..<length).map { _ in characters.randomElement()! })
    }
}
