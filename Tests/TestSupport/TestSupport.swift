import Foundation
import Glibc
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

/// Polls `condition` every 10 ms for up to `seconds` (five) and says whether it came to hold: for
/// effects of background work, or on a server's side after the client's call returns; never to
/// assert on timing. Use it as `#expect(try await eventually { ... }, "what never happened")`.
public func eventually(within seconds: Int = 5, _ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<(seconds * 100) {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// A loopback port that refuses connections for as long as this value lives: bound but never
/// listening, so no other test's server can be given it meanwhile (a port bound and closed again
/// can be handed to the next server that asks for any free port).
public final class RefusingPort: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard descriptor >= 0, bound == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(self.descriptor)
    }
}
