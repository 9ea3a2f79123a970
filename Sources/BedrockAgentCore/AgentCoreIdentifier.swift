/// The service models' rules for what an InvokeAgentRuntime request names, shared by the service
/// (which checks its clients' input before any call) and MockBedrock (which refuses like AgentCore).
public enum AgentCoreIdentifier: Sendable {
    /// `agentRuntimeArn`, as `bedrock-agentcore-control` models `RuntimeArn`:
    /// `arn:aws(-[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}`.
    case runtimeArn
    /// `qualifier`, an endpoint name (`AgentRuntimeName`'s pattern): `[a-zA-Z][a-zA-Z0-9_]{0,47}`.
    case qualifier
    /// `runtimeSessionId` (`SessionType`): 33 to 256 characters; this service sends printable ASCII only.
    case runtimeSessionId

    /// The field's name in the model, used in messages.
    public var field: String {
        switch self {
        case .runtimeArn: "agentRuntimeArn"
        case .qualifier: "qualifier"
        case .runtimeSessionId: "runtimeSessionId"
        }
    }

    /// The rule as an ECMA-262 regular expression, for the API's OpenAPI document (tests check
    /// that it accepts what ``violation(in:)`` accepts).
    public var pattern: String {
        switch self {
        case .runtimeArn: "^arn:aws(-[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}$"
        case .qualifier: "^[a-zA-Z][a-zA-Z0-9_]{0,47}$"
        case .runtimeSessionId: "^[!-~]{33,256}$"
        }
    }

    /// What is wrong with `value` under this rule, or `nil` when it complies.
    public func violation(in value: String) -> String? {
        switch self {
        case .runtimeArn:
            return Self.isRuntimeArn(value)
                ? nil
                : "agentRuntimeArn must be an AgentCore Runtime ARN, arn:aws:bedrock-agentcore:REGION:ACCOUNT:runtime/NAME-0123456789"
        case .qualifier:
            return Self.isName(Substring(value), maxLength: 48)
                ? nil : "qualifier must be an endpoint name: a letter, then up to 47 letters, digits or underscores"
        case .runtimeSessionId:
            let count = value.utf8.count
            guard (33...256).contains(count) else {
                return "runtimeSessionId must be 33 to 256 characters long, got \(value.count)"
            }
            return value.utf8.allSatisfy({ (0x21..<0x7F).contains($0) })
                ? nil : "runtimeSessionId may contain only printable ASCII characters without spaces"
        }
    }

    /// `arn:aws(-[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/NAME-ID`, read field by field.
    static func isRuntimeArn(_ arn: String) -> Bool {
        let fields = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn" else { return false }
        let partition = fields[1]
        guard partition == "aws" || (partition.hasPrefix("aws-") && partition.count > 4) else { return false }
        guard fields[2] == "bedrock-agentcore" else { return false }
        let region = fields[3]
        guard !region.isEmpty, region.utf8.allSatisfy({ Self.isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else { return false }
        let account = fields[4]
        guard account.utf8.count == 12, account.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        let resource = fields[5]
        guard resource.hasPrefix("runtime/") else { return false }
        let id = resource.dropFirst("runtime/".count)
        // NAME-SUFFIX: the name holds no `-`, so the suffix follows the only one.
        guard let dash = id.lastIndex(of: "-") else { return false }
        let name = id[..<dash]
        let suffix = id[id.index(after: dash)...]
        return Self.isName(name, maxLength: 48) && suffix.utf8.count == 10 && suffix.utf8.allSatisfy(Self.isAlphanumeric)
    }

    /// `[a-zA-Z][a-zA-Z0-9_]{0,maxLength-1}`.
    private static func isName(_ name: Substring, maxLength: Int) -> Bool {
        guard let first = name.utf8.first, Self.isLetter(first), name.utf8.count <= maxLength else { return false }
        return name.utf8.allSatisfy { Self.isAlphanumeric($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        Self.isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
