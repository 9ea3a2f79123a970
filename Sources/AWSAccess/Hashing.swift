import CLibCrypto

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, the two primitives of SigV4 (and of the
/// service's API-key hashes).
public enum Hashing {
    /// The SHA-256 digest of `bytes`.
    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Self.withContiguousBytes(bytes) { input in
            var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
            var length: UInt32 = 0
            _ = EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
            return digest
        }
    }

    /// The HMAC-SHA256 of `data` under `key`.
    public static func hmacSHA256(key: [UInt8], data: some Collection<UInt8>) -> [UInt8] {
        Self.withContiguousBytes(data) { input in
            var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            _ = HMAC(EVP_sha256(), key, Int32(key.count), input.baseAddress, input.count, &mac, &length)
            return Array(mac.prefix(Int(length)))
        }
    }

    /// Lowercase hexadecimal, the form SigV4 uses for hashes and signatures.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `lhs` and `rhs` hold the same bytes, in a time that depends only on their lengths
    /// (never on where they first differ), for comparing secrets.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    /// Runs `body` on the bytes in one buffer, copying them only when they are not stored that way.
    private static func withContiguousBytes<Result>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        if let result = bytes.withContiguousStorageIfAvailable(body) {
            return result
        }
        return Array(bytes).withUnsafeBufferPointer(body)
    }
}
