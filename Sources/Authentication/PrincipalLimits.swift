import Synchronization

/// Per-principal limits of one task: `PRINCIPAL_REQUESTS_PER_MINUTE` as a token bucket (a full
/// minute's worth may come at once, then the rate), `PRINCIPAL_MAX_STREAMS` streams at once, and
/// an optional `PRINCIPAL_TOKENS_PER_HOUR` budget of model tokens (input and output), also a
/// bucket: a full hour's worth, refilled continuously, charged with an answer's usage as the
/// agent reports it. A new stream is refused while the budget is spent (zero or below: a stream
/// that was admitted with budget left is never cut off, so answers running at once may overdraw
/// it, by at most another hour's worth: the debt stops at minus the budget, so a principal waits
/// at most about an hour).
///
/// Principals are counted by ``Principal/scopedId``. State for a principal that is idle with full
/// buckets is dropped when the table grows, so memory follows the active principals.
public final class PrincipalLimits: Sendable {
    /// A stream counted against its principal until the slot is released (or deinitialised).
    public final class Slot: Sendable {
        private let limits: PrincipalLimits
        private let key: String
        private let released = Atomic<Bool>(false)

        fileprivate init(limits: PrincipalLimits, key: String) {
            self.limits = limits
            self.key = key
        }

        /// Charges the principal's token budget with an answer's tokens (no-op without a budget).
        public func spend(tokens: Int) {
            self.limits.spend(tokens: tokens, key: self.key)
        }

        /// Ends the stream's count; later calls (and the deinitialiser) do nothing.
        public func release() {
            guard !self.released.exchange(true, ordering: .relaxed) else { return }
            self.limits.entries.withLock { entries in entries[self.key]?.streams -= 1 }
        }

        deinit { self.release() }
    }

    /// A refusal: which limit, and when the client may retry.
    public struct Refusal: Error, Equatable {
        public enum Limit: String, Sendable {
            case requests, streams, tokens
        }

        public var limit: Limit
        public var retryAfterSeconds: Int

        public init(limit: Limit, retryAfterSeconds: Int) {
            self.limit = limit
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    private struct Entry {
        var requests: Double
        /// Tokens left of the hourly budget; negative when the last answer overdrew it.
        var tokens: Double
        var updated: ContinuousClock.Instant
        var streams = 0
    }

    public let maxStreams: Int
    public let requestsPerMinute: Int
    /// `nil`: no token budget.
    public let tokensPerHour: Int?
    /// Entries kept before idle ones are pruned.
    public let pruneThreshold: Int
    private let entries = Mutex<[String: Entry]>([:])
    /// When idle entries were last pruned: at most once a second, so a table of active principals
    /// past the threshold is not scanned on every request.
    private let lastPrune = Mutex<ContinuousClock.Instant?>(nil)
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(
        maxStreams: Int,
        requestsPerMinute: Int,
        tokensPerHour: Int? = nil,
        pruneThreshold: Int = 10_000,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.maxStreams = maxStreams
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerHour = tokensPerHour
        self.pruneThreshold = pruneThreshold
        self.now = now
    }

    private var requestCapacity: Double { Double(self.requestsPerMinute) }
    private var requestsPerSecond: Double { Double(self.requestsPerMinute) / 60 }
    private var tokenCapacity: Double { Double(self.tokensPerHour ?? 0) }
    private var tokensPerSecond: Double { Double(self.tokensPerHour ?? 0) / 3_600 }

    /// Takes one request from the principal's bucket, or says how long until one is there.
    public func admitRequest(_ principal: Principal) throws(Refusal) {
        let now = self.now()
        let wait: Double? = self.withEntry(principal.scopedId, now: now) { entry in
            guard entry.requests >= 1 else { return (1 - entry.requests) / self.requestsPerSecond }
            entry.requests -= 1
            return nil
        }
        if let wait {
            throw Refusal(limit: .requests, retryAfterSeconds: Self.seconds(wait))
        }
    }

    /// Counts a stream against the principal, or refuses when it already has ``maxStreams`` or
    /// its token budget is spent.
    public func openStream(_ principal: Principal) throws(Refusal) -> Slot {
        let key = principal.scopedId
        let refusal: Refusal? = self.withEntry(key, now: self.now()) { entry in
            if self.tokensPerHour != nil, entry.tokens <= 0 {
                // Until the budget is above zero again: the first token back admits a stream.
                let wait = (-entry.tokens + 1) / self.tokensPerSecond
                return Refusal(limit: .tokens, retryAfterSeconds: Self.seconds(wait))
            }
            guard entry.streams < self.maxStreams else { return Refusal(limit: .streams, retryAfterSeconds: 1) }
            entry.streams += 1
            return nil
        }
        if let refusal { throw refusal }
        return Slot(limits: self, key: key)
    }

    /// The principal's streams now, for tests.
    public func streams(of principal: Principal) -> Int {
        self.entries.withLock { $0[principal.scopedId]?.streams ?? 0 }
    }

    /// The principal's token budget left now (negative when overdrawn); `nil` without a budget.
    public func tokensLeft(of principal: Principal) -> Double? {
        guard self.tokensPerHour != nil else { return nil }
        return self.withEntry(principal.scopedId, now: self.now()) { $0.tokens }
    }

    public var trackedPrincipals: Int { self.entries.withLock { $0.count } }

    private func spend(tokens: Int, key: String) {
        guard self.tokensPerHour != nil, tokens > 0 else { return }
        let floor = -self.tokenCapacity
        self.withEntry(key, now: self.now()) { entry in entry.tokens = max(floor, entry.tokens - Double(tokens)) }
    }

    /// Runs `body` on the principal's entry, refilled up to `now` (a new one starts full), under
    /// the lock; prunes idle entries first when the table is past its threshold.
    private func withEntry<T>(_ key: String, now: ContinuousClock.Instant, _ body: (inout Entry) -> T) -> T {
        self.entries.withLock { entries in
            if entries.count >= self.pruneThreshold, entries[key] == nil, self.mayPrune(now) {
                entries = entries.filter { _, entry in entry.streams > 0 || !self.isFull(self.refilled(entry, now: now)) }
            }
            var entry = self.refilled(entries[key] ?? Entry(requests: self.requestCapacity, tokens: self.tokenCapacity, updated: now), now: now)
            defer { entries[key] = entry }
            return body(&entry)
        }
    }

    private func refilled(_ entry: Entry, now: ContinuousClock.Instant) -> Entry {
        let elapsed = now - entry.updated
        let seconds = max(0, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        var entry = entry
        entry.requests = min(self.requestCapacity, entry.requests + seconds * self.requestsPerSecond)
        entry.tokens = min(self.tokenCapacity, entry.tokens + seconds * self.tokensPerSecond)
        entry.updated = max(entry.updated, now)
        return entry
    }

    /// An entry as a new principal's: it can be forgotten.
    private func isFull(_ entry: Entry) -> Bool {
        entry.requests >= self.requestCapacity && entry.tokens >= self.tokenCapacity
    }

    private func mayPrune(_ now: ContinuousClock.Instant) -> Bool {
        self.lastPrune.withLock { last in
            if let last, now - last < .seconds(1) { return false }
            last = now
            return true
        }
    }

    private static func seconds(_ wait: Double) -> Int {
        max(1, Int(min(wait, 86_400).rounded(.up)))
    }
}
