/// An AgentCore Runtime to invoke: the runtime's ARN, the endpoint (`qualifier`, the runtime's
/// default endpoint when `nil`) and the runtime session, the three things InvokeAgentRuntime's
/// URL and headers carry.
public struct AgentRuntimeTarget: Hashable, Sendable {
    public var arn: String
    public var qualifier: String?
    /// `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`: 33 to 256 characters.
    public var sessionId: String

    public init(arn: String, qualifier: String?, sessionId: String) {
        self.arn = arn
        self.qualifier = qualifier
        self.sessionId = sessionId
    }

    /// The header that carries the runtime session.
    public static let sessionHeader = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
    /// The header that carries the end user the agent acts for.
    public static let userHeader = "X-Amzn-Bedrock-AgentCore-Runtime-User-Id"

    /// `/runtimes/{agentRuntimeArn}/invocations`, the ARN percent-encoded as one path segment, with
    /// `?qualifier=` when one is set.
    public var path: String {
        let base = "/runtimes/" + Self.encodedSegment(self.arn) + "/invocations"
        guard let qualifier else { return base }
        return base + "?qualifier=" + Self.encodedSegment(qualifier)
    }

    /// The first rule of the service model that the target breaks, or `nil`.
    public var violation: String? {
        AgentCoreIdentifier.runtimeArn.violation(in: self.arn)
            ?? self.qualifier.flatMap { AgentCoreIdentifier.qualifier.violation(in: $0) }
            ?? AgentCoreIdentifier.runtimeSessionId.violation(in: self.sessionId)
    }

    /// RFC 3986's unreserved characters stay, every other byte is `%XX` (so `:` and `/` too).
    static func encodedSegment(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded.unicodeScalars.append("%")
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return encoded
    }
}
