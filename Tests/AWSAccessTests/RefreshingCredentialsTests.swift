import Foundation
import Synchronization
import TestSupport
import Testing

@testable import AWSAccess

/// A provider whose answers a test scripts, counting and timing its fetches.
final class ScriptedProvider: CredentialProvider {
    private let fetchTimes = Mutex<[Date]>([])
    private let script: @Sendable (Int) async throws -> AWSCredentials

    /// - Parameter script: Answers fetch number 1, 2, …
    init(_ script: @escaping @Sendable (Int) async throws -> AWSCredentials) {
        self.script = script
    }

    var source: CredentialSource { .container(endpoint: "http://scripted.test") }

    /// When each fetch started.
    var fetches: [Date] { self.fetchTimes.withLock { $0 } }

    func credentials() async throws -> AWSCredentials {
        let number = self.fetchTimes.withLock { times in
            times.append(Date())
            return times.count
        }
        return try await self.script(number)
    }

    /// Credentials numbered by fetch, expiring `expiresIn` seconds from now (never for `nil`).
    static func credentials(_ number: Int, expiresIn: TimeInterval?) -> AWSCredentials {
        AWSCredentials(
            accessKeyID: "AKID-\(number)",
            secretAccessKey: TestKeys.secretAccessKey,
            sessionToken: TestKeys.sessionToken,
            expiration: expiresIn.map { Date().addingTimeInterval($0) }
        )
    }
}

struct ScriptedFailure: Error {}

@Suite("Refreshing credentials: cache, refresh ahead, single flight", .timeLimit(.minutes(1)))
struct RefreshingCredentialsTests {
    @Test("credentials without an expiration are fetched once")
    func longTerm() async throws {
        let provider = ScriptedProvider { ScriptedProvider.credentials($0, expiresIn: nil) }
        let cache = RefreshingCredentials(provider: provider, logger: quietLogger)
        for _ in 0..<3 {
            #expect(try await cache.credentials().accessKeyID == "AKID-1")
        }
        #expect(provider.fetches.count == 1)
        #expect(cache.source == provider.source)
    }

    @Test("100 concurrent first callers cause exactly one fetch")
    func singleFlightFirstFetch() async throws {
        let provider = ScriptedProvider { number in
            try await Task.sleep(for: .milliseconds(50))
            return ScriptedProvider.credentials(number, expiresIn: 3600)
        }
        let cache = RefreshingCredentials(provider: provider, logger: quietLogger)
        let keys = try await Self.concurrentKeys(cache, callers: 100)
        #expect(keys == ["AKID-1"])
        #expect(provider.fetches.count == 1)
    }

    @Test("100 concurrent callers of credentials about to expire cause exactly one refresh")
    func singleFlightRefresh() async throws {
        let provider = ScriptedProvider { number in
            if number > 1 { try await Task.sleep(for: .milliseconds(50)) }
            // The first credentials are inside the expiry margin at once; the refreshed ones are not.
            return ScriptedProvider.credentials(number, expiresIn: number == 1 ? 5 : 3600)
        }
        let cache = RefreshingCredentials(
            provider: provider,
            configuration: .init(refreshAhead: .seconds(120), expiryMargin: .seconds(60)),
            logger: quietLogger
        )
        #expect(try await cache.credentials().accessKeyID == "AKID-1")
        let keys = try await Self.concurrentKeys(cache, callers: 100)
        #expect(keys == ["AKID-2"])
        #expect(provider.fetches.count == 2)
    }

    @Test("credentials that expire in seconds are refreshed in the background before they expire")
    func refreshAhead() async throws {
        let provider = ScriptedProvider { ScriptedProvider.credentials($0, expiresIn: 5) }
        // Credentials living 5 s are always inside a 1-hour refresh-ahead window, never inside a zero margin.
        let cache = RefreshingCredentials(
            provider: provider,
            configuration: .init(refreshAhead: .seconds(3600), expiryMargin: .zero),
            logger: quietLogger
        )
        let first = try await cache.credentials()
        #expect(first.accessKeyID == "AKID-1")
        // Still valid: handed out at once, while a refresh starts behind it.
        #expect(try await cache.credentials().accessKeyID == "AKID-1")
        #expect(try await eventually { try await cache.credentials().accessKeyID != "AKID-1" }, "the background refresh never delivered")
        let fetches = provider.fetches
        #expect(fetches.count >= 2)
        #expect(fetches[1] < first.expiration!)
    }

    @Test("a failed fetch is not remembered: the next use tries again")
    func failureRecovers() async throws {
        let provider = ScriptedProvider { number in
            guard number > 1 else { throw ScriptedFailure() }
            return ScriptedProvider.credentials(number, expiresIn: 3600)
        }
        let cache = RefreshingCredentials(provider: provider, logger: quietLogger)
        await #expect(throws: ScriptedFailure.self) { try await cache.credentials() }
        #expect(try await cache.credentials().accessKeyID == "AKID-2")
        #expect(provider.fetches.count == 2)
    }

    @Test("a failed background refresh keeps the valid credentials and is retried at the next use")
    func backgroundFailure() async throws {
        let provider = ScriptedProvider { number in
            guard number != 2 else { throw ScriptedFailure() }
            return ScriptedProvider.credentials(number, expiresIn: 60)
        }
        let cache = RefreshingCredentials(
            provider: provider,
            configuration: .init(refreshAhead: .seconds(3600), expiryMargin: .zero),
            logger: quietLogger
        )
        #expect(try await cache.credentials().accessKeyID == "AKID-1")
        #expect(try await cache.credentials().accessKeyID == "AKID-1")
        #expect(try await eventually { provider.fetches.count >= 2 }, "the background refresh was never attempted")
        #expect(try await eventually { try await cache.credentials().accessKeyID == "AKID-3" }, "the failed refresh was never retried")
    }

    @Test("credentials that are already expired are rejected, naming the source and not the secret")
    func expired() async throws {
        let provider = ScriptedProvider { ScriptedProvider.credentials($0, expiresIn: -10) }
        let cache = RefreshingCredentials(provider: provider, logger: quietLogger)
        let error = try await #require(throws: AWSAccessError.credentialsExpired) { try await cache.credentials() }
        #expect(error.detail.hasPrefix("container credentials endpoint http://scripted.test"))
        #expect(!TestKeys.leaksSecret(error.description))
    }

    @Test("cancelling one waiting caller does not cancel the refresh the others wait for")
    func cancellation() async throws {
        let (gate, open) = AsyncStream<Void>.makeStream()
        let provider = ScriptedProvider { number in
            for await _ in gate { break }
            return ScriptedProvider.credentials(number, expiresIn: 3600)
        }
        let cache = RefreshingCredentials(provider: provider, logger: quietLogger)
        let cancelled = Task { try await cache.credentials() }
        let waiting = Task { try await cache.credentials() }
        #expect(try await eventually { provider.fetches.count == 1 }, "the refresh never started")

        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }

        open.yield()
        #expect(try await waiting.value.accessKeyID == "AKID-1")
        #expect(try await cache.credentials().accessKeyID == "AKID-1")
        #expect(provider.fetches.count == 1)
    }

    /// The distinct access key ids that `callers` concurrent callers got.
    static func concurrentKeys(_ cache: RefreshingCredentials, callers: Int) async throws -> Set<String> {
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<callers {
                group.addTask { try await cache.credentials().accessKeyID }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
    }
}
