import Synchronization

/// Per-principal limits of one task: `PRINCIPAL_REQUESTS_PER_MINUTE` as a token bucket (a full
/// minute's worth may come at once, then the rate), and `PRINCIPAL_MAX_STREAMS` streams at once.
/// Principals are counted by ``Principal/scopedId``. State for a principal that is idle with a
/// full bucket is dropped when the table grows, so memory follows the active principals.
public final class PrincipalLimits: Sendable {
    /// A stream counted against its principal until the slot is released (or deinitialised).
    public final class Slot: Sendable {
        private let release: @Sendable () -> Void
        public init(release: @escaping @Sendable () -> Void) { self.release = release }
        deinit { self.release() }
    }

    /// A refusal: the client may retry after this many seconds.
    public struct Refusal: Error, Equatable {
        public var retryAfterSeconds: Int
    }

    private struct Entry {
        public var tokens: Double
        public var updated: ContinuousClock.Instant
        public var streams = 0
    }

    public let maxStreams: Int
    public let requestsPerMinute: Int
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
        pruneThreshold: Int = 10_000,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.maxStreams = maxStreams
        self.requestsPerMinute = requestsPerMinute
        self.pruneThreshold = pruneThreshold
        self.now = now
    }

    private var refillPerSecond: Double { Double(self.requestsPerMinute) / 60 }

    /// Takes one request from the principal's bucket, or says how long until one is there.
    public func admitRequest(_ principal: Principal) throws(Refusal) {
        let now = self.now()
        let capacity = Double(self.requestsPerMinute)
        let rate = self.refillPerSecond
        let wait: Double? = self.entries.withLock { entries in
            if entries.count >= self.pruneThreshold, entries[principal.scopedId] == nil, self.mayPrune(now) {
                Self.prune(&entries, now: now, capacity: capacity, rate: rate)
            }
            var entry = entries[principal.scopedId] ?? Entry(tokens: capacity, updated: now)
            entry.tokens = Self.refilled(entry, now: now, capacity: capacity, rate: rate)
            entry.updated = now
            defer { entries[principal.scopedId] = entry }
            guard entry.tokens >= 1 else { return (1 - entry.tokens) / rate }
            entry.tokens -= 1
            return nil
        }
        if let wait {
            throw Refusal(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
        }
    }

    /// Counts a stream against the principal, or refuses when it already has ``maxStreams``.
    public func openStream(_ principal: Principal) throws(Refusal) -> Slot {
        let key = principal.scopedId
        let admitted = self.entries.withLock { entries in
            var entry = entries[key] ?? Entry(tokens: Double(self.requestsPerMinute), updated: self.now())
            guard entry.streams < self.maxStreams else { return false }
            entry.streams += 1
            entries[key] = entry
            return true
        }
        guard admitted else { throw Refusal(retryAfterSeconds: 1) }
        return Slot { [weak self] in
            self?.entries.withLock { entries in entries[key]?.streams -= 1 }
        }
    }

    /// The principal's streams now, for tests.
    public func streams(of principal: Principal) -> Int {
        self.entries.withLock { $0[principal.scopedId]?.streams ?? 0 }
    }

    public var trackedPrincipals: Int { self.entries.withLock { $0.count } }

    private static func refilled(_ entry: Entry, now: ContinuousClock.Instant, capacity: Double, rate: Double) -> Double {
        let elapsed = now - entry.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(capacity, entry.tokens + max(0, seconds) * rate)
    }

    private func mayPrune(_ now: ContinuousClock.Instant) -> Bool {
        self.lastPrune.withLock { last in
            if let last, now - last < .seconds(1) { return false }
            last = now
            return true
        }
    }

    /// Drops the principals with no stream whose bucket has filled up again: they are as if new.
    private static func prune(_ entries: inout [String: Entry], now: ContinuousClock.Instant, capacity: Double, rate: Double) {
        entries = entries.filter { _, entry in
            entry.streams > 0 || Self.refilled(entry, now: now, capacity: capacity, rate: rate) < capacity
        }
    }
}
