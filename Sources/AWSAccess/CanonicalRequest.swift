import NIOHTTP1

/// The canonical form of a request that SigV4 hashes into its string to sign.
///
/// Exposed so that a server (MockBedrock) can recompute it for a received request, and so that a
/// signature mismatch can be explained part by part.
public struct CanonicalRequest: Sendable, Equatable, CustomStringConvertible {
    /// Headers that are never signed: they are changed on the way (`connection`, `expect`,
    /// `transfer-encoding`), added by tracing (`x-amzn-trace-id`, `user-agent`) or are the signature.
    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id",
    ]

    /// The HTTP method.
    public let method: String
    /// The canonical URI: the normalized path, each segment percent-encoded (again, unless S3).
    public let uri: String
    /// The canonical query: parameters re-encoded and sorted by name, then value.
    public let query: String
    /// The canonical headers: `name:value` lines, sorted, each ending in a line feed.
    public let headers: String
    /// The lowercase names of the signed headers, sorted and joined by `;`.
    public let signedHeaders: String
    /// The hex SHA-256 of the payload, or `UNSIGNED-PAYLOAD`.
    public let payloadHash: String

    /// Computes the canonical request of `request`.
    /// - Parameters:
    ///   - request: The request as on the wire.
    ///   - signedHeaders: The lowercase names of the headers to sign, as a received `Authorization`
    ///     lists them; `nil` signs every header but the ones SigV4 leaves out.
    ///   - configuration: Path normalization and encoding rules.
    public init(_ request: SigV4Request, signedHeaders: [String]? = nil, configuration: SigV4Signer.Configuration = .init()) {
        self.method = request.method
        self.uri = Self.canonicalURI(request.path, configuration: configuration)
        self.query = Self.canonicalQuery(request.query ?? "")
        let headers = Self.canonicalHeaders(request.headers)
        let names = signedHeaders.map { Array(Set($0.map { $0.lowercased() })).sortedByBytes() } ?? Self.signableNames(headers)
        self.headers = names.map { name in "\(name):\(headers[name] ?? "")\n" }.joined()
        self.signedHeaders = names.joined(separator: ";")
        self.payloadHash = request.payloadHash
    }

    /// The canonical request text, the six parts joined by line feeds.
    public var description: String {
        [self.method, self.uri, self.query, self.headers, self.signedHeaders, self.payloadHash].joined(separator: "\n")
    }

    /// The lowercase hex SHA-256 of the canonical request text, the last line of the string to sign.
    public var hash: String {
        Hashing.hex(Hashing.sha256(self.description.utf8))
    }

    /// The sorted, distinct lowercase names of the headers that SigV4 signs by default.
    static func signableHeaderNames(_ headers: HTTPHeaders) -> [String] {
        Self.signableNames(Self.canonicalHeaders(headers))
    }

    private static func signableNames(_ canonicalHeaders: [String: String]) -> [String] {
        canonicalHeaders.keys.filter { !Self.unsignedHeaders.contains($0) }.sortedByBytes()
    }

    /// Each header's canonical value by trimmed lowercase name: the values of a repeated name in
    /// order, each trimmed with inner runs of whitespace made one space, joined by commas. One pass
    /// over the bytes, as signing is on the path of every request.
    private static func canonicalHeaders(_ headers: HTTPHeaders) -> [String: String] {
        var canonical: [String: String] = [:]
        canonical.reserveCapacity(headers.count)
        for (name, value) in headers {
            canonical[Self.trimmedLowercase(name), default: ""].appendHeaderValue(value)
        }
        return canonical
    }

    private static func trimmedLowercase(_ name: String) -> String {
        let bytes = name.utf8
        guard let first = bytes.firstIndex(where: { !$0.isSigV4Whitespace }),
            let last = bytes.lastIndex(where: { !$0.isSigV4Whitespace })
        else { return "" }
        let lowercase = bytes[first...last].lazy.map { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + (UInt8(ascii: "a") - UInt8(ascii: "A")) : byte
        }
        return String(decoding: lowercase, as: UTF8.self)
    }

    private static func canonicalURI(_ path: String, configuration: SigV4Signer.Configuration) -> String {
        let normalized = configuration.normalizesPath ? Self.removingDotSegments(path) : path
        let uri = configuration.encodesPathTwice ? PercentEncoding.encode(normalized, keepingSlashes: true) : normalized
        return uri.isEmpty ? "/" : uri
    }

    /// Removes `.` and `..` segments (RFC 3986 section 5.2.4) and empty segments, keeping a leading
    /// and a trailing slash.
    private static func removingDotSegments(_ path: String) -> String {
        let slash = UInt8(ascii: "/")
        var segments: [Substring.UTF8View] = []
        for segment in path.utf8.split(separator: slash, omittingEmptySubsequences: true) {
            if segment.elementsEqual(".".utf8) {
                continue
            } else if segment.elementsEqual("..".utf8) {
                _ = segments.popLast()
            } else {
                segments.append(segment)
            }
        }
        var normalized = [UInt8]()
        normalized.reserveCapacity(path.utf8.count + 1)
        for segment in segments {
            normalized.append(slash)
            normalized.append(contentsOf: segment)
        }
        if segments.isEmpty || path.utf8.last == slash {
            normalized.append(slash)
        }
        return String(decoding: normalized, as: UTF8.self)
    }

    private static func canonicalQuery(_ query: String) -> String {
        query
            .split(separator: "&", omittingEmptySubsequences: true)
            .map { pair -> (name: String, value: String) in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = parts.count > 1 ? parts[1] : ""
                return (PercentEncoding.encode(PercentEncoding.decode(parts[0])), PercentEncoding.encode(PercentEncoding.decode(value)))
            }
            .sorted { lhs, rhs in
                lhs.name == rhs.name
                    ? lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
                    : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }
}

extension String {
    /// Appends a header's value, trimmed with inner runs of whitespace made one space, after a
    /// comma when this already holds a value.
    fileprivate mutating func appendHeaderValue(_ value: String) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(value.utf8.count + 1)
        if !self.isEmpty {
            bytes.append(UInt8(ascii: ","))
        }
        let start = bytes.count
        var spaceOwed = false
        for byte in value.utf8 {
            if byte.isSigV4Whitespace {
                spaceOwed = bytes.count > start
            } else {
                if spaceOwed {
                    bytes.append(UInt8(ascii: " "))
                    spaceOwed = false
                }
                bytes.append(byte)
            }
        }
        self += String(decoding: bytes, as: UTF8.self)
    }
}

extension UInt8 {
    /// The whitespace SigV4 trims and collapses in header values.
    fileprivate var isSigV4Whitespace: Bool {
        self == UInt8(ascii: " ") || self == UInt8(ascii: "\t") || self == UInt8(ascii: "\r") || self == UInt8(ascii: "\n")
    }
}

extension Array where Element == String {
    /// Sorted by UTF-8 bytes, the order SigV4 specifies for header names.
    fileprivate func sortedByBytes() -> [String] {
        self.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
