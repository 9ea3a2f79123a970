import Glibc

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`), which every client connection,
/// every Bedrock connection and the runtime itself (libdispatch opens files under `/proc` as it
/// runs) draw on. Running out is fatal in places the service does not control, so the number of
/// client connections is capped below it (`MAX_CONNECTIONS`).
enum OpenFileLimit {
    /// Descriptors kept for everything but connections: event loops, standard streams, the
    /// credential and STS connections, files the runtime opens.
    static let reserve = 64

    /// Raises the soft limit to the hard limit (as Go's runtime and many servers do: the soft
    /// default of 1024 is a relic) and returns the soft limit now in force.
    @discardableResult
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limit = raised
            }
        }
        return Self.clamped(limit.rlim_cur)
    }

    /// The soft limit in force.
    static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        return Self.clamped(limit.rlim_cur)
    }

    /// `MAX_CONNECTIONS` by default: half of what the reserve leaves, since each client connection
    /// streaming an answer holds a Bedrock connection too.
    static func defaultMaxConnections(limit: Int) -> Int {
        max(1, (limit - Self.reserve) / 2)
    }

    /// The most `MAX_CONNECTIONS` may be: every descriptor but the reserve.
    static func highestMaxConnections(limit: Int) -> Int {
        max(1, limit - Self.reserve)
    }

    private static func clamped(_ value: rlim_t) -> Int {
        // RLIM_INFINITY is the largest value, so it clamps too.
        value > rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }
}
