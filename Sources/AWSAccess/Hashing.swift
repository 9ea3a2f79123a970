import CLibCrypto

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, the two primitives of SigV4.
enum Hashing {
    /// The SHA-256 digest of `bytes`.
    static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        let hash: ([UInt8]) -> Void = { input in
            input.withUnsafeBytes { buffer in
                _ = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
            }
        }
        hash(Array(bytes))
        return digest
    }

    /// The HMAC-SHA256 of `data` under `key`.
    static func hmacSHA256(key: [UInt8], data: some Collection<UInt8>) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let input = Array(data)
        key.withUnsafeBytes { keyBuffer in
            input.withUnsafeBytes { dataBuffer in
                _ = HMAC(
                    EVP_sha256(),
                    keyBuffer.baseAddress,
                    Int32(keyBuffer.count),
                    dataBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    dataBuffer.count,
                    &mac,
                    &length
                )
            }
        }
        return Array(mac.prefix(Int(length)))
    }

    /// Lowercase hexadecimal, the form SigV4 uses for hashes and signatures.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
