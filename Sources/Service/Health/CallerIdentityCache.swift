import AWSAccess
import Logging
import Synchronization

/// The account behind the service's credentials, from STS `GetCallerIdentity`, for `/health`.
///
/// `/health` must answer fast even when AWS is unreachable, so it never waits on STS for longer
/// than the configured timeout, and usually not at all: a known answer is returned at once while
/// one refresh runs in the background once it is stale (minutes after a success, seconds after a
/// failure).
final class CallerIdentityCache: Sendable {
    /// What is known of the identity.
    enum Status: Sendable, Equatable {
        case verified(CallerIdentity)
        case unverified(reason: String)
    }

    private struct State {
        var status: Status?
        var checkedAt: ContinuousClock.Instant?
        var refresh: Task<Status, Never>?
    }

    private let fetch: @Sendable () async throws -> CallerIdentity
    private let timeout: Duration
    private let successLifetime: Duration
    private let failureLifetime: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(
        timeout: Duration,
        successLifetime: Duration = .seconds(300),
        failureLifetime: Duration = .seconds(10),
        logger: Logger,
        fetch: @escaping @Sendable () async throws -> CallerIdentity
    ) {
        self.fetch = fetch
        self.timeout = timeout
        self.successLifetime = successLifetime
        self.failureLifetime = failureLifetime
        self.logger = logger
    }

    /// The identity as known now, refreshing it when stale; waits (at most the timeout) only when
    /// nothing is known yet.
    func current() async -> Status {
        let (known, refresh) = self.state.withLock { state -> (Status?, Task<Status, Never>?) in
            let lifetime = state.status.map { if case .verified = $0 { self.successLifetime } else { self.failureLifetime } }
            let stale = state.checkedAt.map { ContinuousClock.now - $0 > lifetime! } ?? true
            if stale && state.refresh == nil {
                state.refresh = Task { await self.refresh() }
            }
            return (state.status, state.refresh)
        }
        if let known { return known }
        guard let refresh else { return .unverified(reason: "identity not checked yet") }
        return await refresh.value
    }

    private func refresh() async -> Status {
        let status: Status
        do {
            let identity = try await withThrowingTaskGroup(of: CallerIdentity?.self) { group in
                group.addTask { try await self.fetch() }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let identity = try await group.next() ?? nil else {
                    throw TimeoutError()
                }
                return identity
            }
            status = .verified(identity)
        } catch {
            self.logger.warning("Caller identity unverified", metadata: ["error": "\(error)"])
            status = .unverified(reason: error is TimeoutError ? "STS did not answer in time" : "STS refused or failed")
        }
        self.state.withLock { state in
            state.status = status
            state.checkedAt = .now
            state.refresh = nil
        }
        return status
    }

    private struct TimeoutError: Error {}
}
