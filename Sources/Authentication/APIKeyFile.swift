import AWSAccess
import BedrockAgentRuntime

/// `API_KEYS_FILE`: `{"keys": [{"id": "team-a", "sha256": "<hex>", "agents": ["AGENT00001"]}]}`.
/// Keys are stored only as SHA-256 hashes; `agents`, when given, narrows `ALLOWED_AGENT_IDS` for
/// that key. Every problem is refused with a message naming the entry and the field.
public struct APIKeyFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        /// The SHA-256 of the key's UTF-8 bytes.
        public var digest: [UInt8]
        public var agents: Set<String>?

        public init(id: String, digest: [UInt8], agents: Set<String>?) {
            self.id = id
            self.digest = digest
            self.agents = agents
        }
    }

    /// A file larger than this is refused unread: thousands of keys fit in far less.
    public static let maximumBytes = 1_048_576
    /// The longest key accepted in `X-API-Key`; longer values are not hashed at all.
    public static let maximumKeyBytes = 256

    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses the file's bytes.
    public init(parsing bytes: [UInt8]) throws(APIKeyFileError) {
        guard bytes.count <= Self.maximumBytes else {
            throw APIKeyFileError("is \(bytes.count) bytes, more than the \(Self.maximumBytes) accepted")
        }
        let json: JSONValue
        do {
            json = try bytes.withUnsafeBytes { buffer throws(StrictJSONParser.Error) in try StrictJSONParser.parse(buffer) }
        } catch let error as StrictJSONParser.Error {
            throw APIKeyFileError("is not valid JSON: \(error.description)")
        } catch {
            throw APIKeyFileError("is not valid JSON: \(error)")
        }
        guard case .object(let top) = json, case .array(let keys)? = top["keys"] else {
            throw APIKeyFileError(#"must be an object {"keys": [...]}"#)
        }
        if let unknown = top.keys.first(where: { $0 != "keys" }) {
            throw APIKeyFileError("has an unknown field '\(unknown)' (only \"keys\" is read)")
        }
        var entries: [Entry] = []
        var ids: Set<String> = []
        var digests: Set<[UInt8]> = []
        for (index, key) in keys.enumerated() {
            let entry = try Self.entry(key, at: index)
            guard ids.insert(entry.id).inserted else {
                throw APIKeyFileError("keys[\(index)]: the id '\(entry.id)' is used twice")
            }
            guard digests.insert(entry.digest).inserted else {
                throw APIKeyFileError("keys[\(index)] ('\(entry.id)'): its sha256 is another entry's too")
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    private static func entry(_ value: JSONValue, at index: Int) throws(APIKeyFileError) -> Entry {
        guard case .object(let fields) = value else {
            throw APIKeyFileError("keys[\(index)] must be an object with id and sha256")
        }
        if let unknown = fields.keys.sorted().first(where: { !["id", "sha256", "agents"].contains($0) }) {
            throw APIKeyFileError("keys[\(index)] has an unknown field '\(unknown)' (id, sha256 and agents are read)")
        }
        guard case .string(let id)? = fields["id"], Self.isValidId(id) else {
            throw APIKeyFileError("keys[\(index)].id must be 1 to 64 characters of [A-Za-z0-9._:-]")
        }
        guard case .string(let hex)? = fields["sha256"], let digest = Self.digest(hex) else {
            throw APIKeyFileError("keys[\(index)] ('\(id)'): sha256 must be the 64 hexadecimal digits of the key's SHA-256")
        }
        var agents: Set<String>?
        switch fields["agents"] {
        case nil, .null?:
            agents = nil
        case .array(let items)?:
            var set: Set<String> = []
            for item in items {
                guard case .string(let agent) = item, BedrockIdentifier.agentId.violation(in: agent) == nil else {
                    throw APIKeyFileError("keys[\(index)] ('\(id)'): agents must list agent ids (up to 10 letters or digits)")
                }
                set.insert(agent)
            }
            agents = set
        default:
            throw APIKeyFileError("keys[\(index)] ('\(id)'): agents must be a list of agent ids")
        }
        return Entry(id: id, digest: digest, agents: agents)
    }

    public static func isValidId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D
            }
    }

    private static func digest(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(digits[pair]), let low = Self.nibble(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }

    /// The entry whose hash is the key's. Every entry is compared, in constant time, so neither
    /// the answer's timing nor which entry matched tells anything about the stored hashes.
    public func entry(forKey key: String) -> Entry? {
        guard !key.isEmpty, key.utf8.count <= Self.maximumKeyBytes else { return nil }
        let digest = Hashing.sha256(Array(key.utf8))
        var found: Entry?
        for entry in self.entries where Hashing.constantTimeEquals(entry.digest, digest) {
            found = entry
        }
        return found
    }
}

/// Why `API_KEYS_FILE` cannot be used.
public struct APIKeyFileError: Error, CustomStringConvertible, Equatable {
    public var problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { self.problem }
}
