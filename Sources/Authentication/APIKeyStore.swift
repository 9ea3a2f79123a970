import Foundation
import Logging
import Synchronization

/// The API keys in force: `API_KEYS_FILE` as last read. ``reload()`` (on SIGHUP) replaces them
/// only when the file reads and parses whole; otherwise the keys in force stay, and the reason is
/// logged.
public final class APIKeyStore: Sendable {
    public let path: String
    private let keys: Mutex<APIKeyFile>
    private let logger: Logger

    /// Reads `path`; a missing or invalid file is an error saying what is wrong with it.
    public init(path: String, logger: Logger) throws(APIKeyFileError) {
        self.path = path
        self.logger = logger
        self.keys = Mutex(try Self.read(path))
    }

    /// The entry the key `key` belongs to, if any.
    public func entry(forKey key: String) -> APIKeyFile.Entry? {
        // The file is copied out (copy-on-write: a reference), so checks do not wait on each other.
        self.keys.withLock { $0 }.entry(forKey: key)
    }

    public var count: Int { self.keys.withLock { $0.entries.count } }

    /// Reads the file again; returns whether the new keys are in force.
    @discardableResult
    public func reload() -> Bool {
        do {
            let file = try Self.read(self.path)
            let previous = self.keys.withLock { keys in
                defer { keys = file }
                return Set(keys.entries.map(\.id))
            }
            let current = Set(file.entries.map(\.id))
            self.logger.notice(
                "API keys reloaded",
                metadata: [
                    "keys": .stringConvertible(current.count),
                    "added": .string(current.subtracting(previous).sorted().joined(separator: ",")),
                    "removed": .string(previous.subtracting(current).sorted().joined(separator: ",")),
                ]
            )
            return true
        } catch {
            self.logger.error(
                "API keys not reloaded; the keys in force are kept",
                metadata: ["file": .string(self.path), "error": .string(error.problem)]
            )
            return false
        }
    }

    private static func read(_ path: String) throws(APIKeyFileError) -> APIKeyFile {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // One byte more than the limit tells an oversized file without reading all of it.
            bytes = [UInt8](try handle.read(upToCount: APIKeyFile.maximumBytes + 1) ?? Data())
        } catch {
            throw APIKeyFileError("cannot be read: \((error as NSError).localizedDescription)")
        }
        return try APIKeyFile(parsing: bytes)
    }
}
