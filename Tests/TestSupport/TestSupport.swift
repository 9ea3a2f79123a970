import Synchronization

/// A value that a test and the tasks it starts share.
public final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        self.mutex = Mutex(value)
    }

    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        self.mutex.withLock { body(&$0) }
    }

    public var value: Value { self.withLock { $0 } }
}

/// Polls `condition` every 20 ms for up to five seconds: for effects that happen on a server's side
/// after the client's call returns.
public func eventually(_ condition: @Sendable () -> Bool) async throws -> Bool {
    for _ in 0..<250 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
