import Synchronization

/// A cache of SigV4 signing keys, one per (secret access key, date, region, service).
///
/// Deriving a key takes four HMACs; a key is valid for a whole UTC day, so a busy client derives it
/// once a day per credential set. Share one cache between the signers of a process. The cache holds
/// at most `capacity` keys and starts over when full, so old secrets do not pile up in memory.
public final class SigningKeyCache: Sendable {
    private struct Key: Hashable {
        let secretAccessKey: String
        let date: String
        let region: String
        let service: String
    }

    private let keys = Mutex<[Key: [UInt8]]>([:])
    private let capacity: Int

    /// Creates an empty cache.
    /// - Parameter capacity: How many keys to keep before starting over.
    public init(capacity: Int = 32) {
        self.capacity = max(1, capacity)
    }

    /// The number of cached keys.
    var count: Int {
        self.keys.withLock { $0.count }
    }

    /// The signing key for a credential scope, derived once and then served from the cache.
    /// - Parameters:
    ///   - secretAccessKey: The secret access key.
    ///   - date: The scope date, `yyyyMMdd`.
    ///   - region: The signing region.
    ///   - service: The signing name of the service.
    func signingKey(secretAccessKey: String, date: String, region: String, service: String) -> [UInt8] {
        let key = Key(secretAccessKey: secretAccessKey, date: date, region: region, service: service)
        if let cached = self.keys.withLock({ $0[key] }) {
            return cached
        }
        let dateKey = Hashing.hmacSHA256(key: Array("AWS4\(secretAccessKey)".utf8), data: date.utf8)
        let regionKey = Hashing.hmacSHA256(key: dateKey, data: region.utf8)
        let serviceKey = Hashing.hmacSHA256(key: regionKey, data: service.utf8)
        let signingKey = Hashing.hmacSHA256(key: serviceKey, data: "aws4_request".utf8)
        self.keys.withLock { keys in
            if keys.count >= self.capacity {
                keys.removeAll()
            }
            keys[key] = signingKey
        }
        return signingKey
    }
}
