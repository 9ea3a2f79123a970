import Foundation
import Logging
import Synchronization

/// Caches the credentials of a provider and refreshes them ahead of expiry.
///
/// - Credentials without an expiration are fetched once and kept.
/// - Within ``Configuration/refreshAhead`` of expiry, callers still get the cached credentials while
///   one refresh runs in the background.
/// - Within ``Configuration/expiryMargin`` of expiry, or with nothing cached, callers wait for a
///   refresh.
/// - However many callers wait, one refresh is in flight (single flight). It runs in its own task:
///   cancelling a waiting caller ends that caller's wait only, never the refresh the others wait for.
/// - A failed refresh is reported to the callers waiting for it and forgotten: the next use tries
///   again. A failed background refresh leaves the still-valid cached credentials in place.
/// - Credentials that are already expired when fetched are rejected as
///   ``AWSAccessError/credentialsExpired``.
public final class RefreshingCredentials: CredentialProvider {
    /// When refreshes happen.
    public struct Configuration: Sendable {
        /// How long before expiry a background refresh starts.
        public var refreshAhead: Duration
        /// How long before expiry credentials are no longer handed out: a request signed with them
        /// must still reach AWS in time.
        public var expiryMargin: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - refreshAhead: How long before expiry a background refresh starts; the container and
        ///     instance metadata endpoints rotate credentials well before that.
        ///   - expiryMargin: How long before expiry callers wait for new credentials instead.
        public init(refreshAhead: Duration = .seconds(300), expiryMargin: Duration = .seconds(60)) {
            self.refreshAhead = refreshAhead
            self.expiryMargin = expiryMargin
        }
    }

    private struct State {
        var current: AWSCredentials?
        var isRefreshing = false
        var waiters: [UInt64: CheckedContinuation<AWSCredentials, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    /// What a caller does after looking at the state.
    private enum Decision {
        case use(AWSCredentials, startRefresh: Bool)
        case wait(startRefresh: Bool)
    }

    /// The wrapped provider's source.
    public var source: CredentialSource { self.provider.source }
    private let provider: any CredentialProvider
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    /// Wraps a provider.
    /// - Parameters:
    ///   - provider: The provider to fetch from.
    ///   - configuration: When refreshes happen.
    ///   - logger: Where refreshes and their failures are logged (never a secret).
    public init(provider: any CredentialProvider, configuration: Configuration = .init(), logger: Logger) {
        self.provider = provider
        self.configuration = configuration
        self.logger = logger
    }

    /// Cached credentials, or fresh ones after waiting for the single refresh in flight.
    /// - Throws: The refresh's error, ``AWSAccessError/credentialsExpired``, or `CancellationError`
    ///   when the calling task is cancelled while waiting.
    public func credentials() async throws -> AWSCredentials {
        // The common case, every request of a running service: cached credentials, no waiting.
        if case .use(let credentials, let startRefresh)? = self.state.withLock({ self.useCurrent(&$0) }) {
            if startRefresh { self.startRefresh() }
            return credentials
        }
        let waiterID = self.state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let decision = self.state.withLock { state -> Decision? in
                    if let use = self.useCurrent(&state) {
                        return use
                    }
                    guard !Task.isCancelled else { return nil }
                    let start = !state.isRefreshing
                    state.isRefreshing = true
                    state.waiters[waiterID] = continuation
                    return .wait(startRefresh: start)
                }
                switch decision {
                case .use(let credentials, let startRefresh):
                    if startRefresh { self.startRefresh() }
                    continuation.resume(returning: credentials)
                case .wait(let startRefresh):
                    if startRefresh { self.startRefresh() }
                case nil:
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: waiterID) }?.resume(throwing: CancellationError())
        }
    }

    /// The cached credentials when they may be used, marking a background refresh as started when
    /// they are due for one.
    private func useCurrent(_ state: inout State) -> Decision? {
        guard let current = state.current, self.isUsable(current) else { return nil }
        let start = !state.isRefreshing && self.isDueForRefresh(current)
        state.isRefreshing = state.isRefreshing || start
        return .use(current, startRefresh: start)
    }

    /// Fetches in a task of its own, so no caller's cancellation reaches it.
    private func startRefresh() {
        self.logger.debug("Refreshing AWS credentials", metadata: ["aws.credentials.source": "\(self.source)"])
        Task {
            let result: Result<AWSCredentials, any Error>
            do {
                let credentials = try await self.provider.credentials()
                if let expiration = credentials.expiration, expiration <= Date() {
                    throw AWSAccessError.credentialsExpired("\(self.source): the credentials fetched expired at \(expiration)")
                }
                result = .success(credentials)
            } catch {
                result = .failure(error)
            }
            self.finishRefresh(result)
        }
    }

    private func finishRefresh(_ result: Result<AWSCredentials, any Error>) {
        let waiters = self.state.withLock { state in
            if case .success(let credentials) = result {
                state.current = credentials
            }
            state.isRefreshing = false
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        switch result {
        case .success(let credentials):
            self.logger.debug(
                "Refreshed AWS credentials",
                metadata: [
                    "aws.credentials.source": "\(self.source)", "aws.credentials.access_key_id": "\(credentials.accessKeyID)",
                    "aws.credentials.expiration": "\(credentials.expiration.map { "\($0)" } ?? "never")",
                ]
            )
        case .failure(let error):
            self.logger.warning(
                "Refreshing AWS credentials failed; the next use tries again",
                metadata: ["aws.credentials.source": "\(self.source)", "error": "\(error)"]
            )
        }
        for waiter in waiters {
            waiter.resume(with: result)
        }
    }

    /// Whether credentials may still be handed out.
    private func isUsable(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return Date() < expiration - Self.seconds(self.configuration.expiryMargin)
    }

    /// Whether credentials are close enough to expiry to refresh them in the background.
    private func isDueForRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return Date() >= expiration - Self.seconds(self.configuration.refreshAhead)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
