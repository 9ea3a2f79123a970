import struct Foundation.URL

/// The base URLs of the AWS APIs the service calls, resolved like the AWS SDKs do, so one set of
/// settings points boto3, the AWS CLI and this service at the same place (a mock, for example).
///
/// `AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`, `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE` and
/// `AWS_ENDPOINT_URL_STS` override one API each,
/// `AWS_ENDPOINT_URL` all of them, and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns the
/// overrides off. Without them the regional endpoints apply.
public struct AWSEndpoints: Sendable, Equatable {
    /// Bedrock Agent Runtime (`InvokeAgent`): `https://bedrock-agent-runtime.{region}.amazonaws.com`.
    public let bedrockAgentRuntime: String
    /// Bedrock AgentCore (`InvokeAgentRuntime`): `https://bedrock-agentcore.{region}.amazonaws.com`.
    public let bedrockAgentCore: String
    /// STS: `https://sts.{region}.amazonaws.com`.
    public let sts: String

    /// Uses explicit endpoints, such as a local MockBedrock in a test.
    /// - Parameters:
    ///   - bedrockAgentRuntime: The Bedrock Agent Runtime base URL, without a trailing slash.
    ///   - bedrockAgentCore: The Bedrock AgentCore base URL; Bedrock Agent Runtime's when `nil`.
    ///   - sts: The STS base URL, without a trailing slash.
    public init(bedrockAgentRuntime: String, bedrockAgentCore: String? = nil, sts: String) {
        self.bedrockAgentRuntime = bedrockAgentRuntime
        self.bedrockAgentCore = bedrockAgentCore ?? bedrockAgentRuntime
        self.sts = sts
    }

    /// Resolves the endpoints for a region.
    /// - Parameters:
    ///   - region: The region of the default endpoints.
    ///   - environment: Where the override variables are read.
    /// - Throws: ``AWSAccessError/invalidEndpoint`` when an override is not an http(s) URL.
    public init(region: AWSRegion, environment: AWSEnvironment) throws {
        self.bedrockAgentRuntime = try Self.endpoint(
            variable: "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
            default: "https://bedrock-agent-runtime.\(region.name).\(region.dnsSuffix)",
            environment: environment
        )
        self.bedrockAgentCore = try Self.endpoint(
            variable: "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE",
            default: "https://bedrock-agentcore.\(region.name).\(region.dnsSuffix)",
            environment: environment
        )
        self.sts = try Self.endpoint(
            variable: "AWS_ENDPOINT_URL_STS",
            default: "https://sts.\(region.name).\(region.dnsSuffix)",
            environment: environment
        )
    }

    private static func endpoint(variable: String, default: String, environment: AWSEnvironment) throws -> String {
        guard !environment.isTrue("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") else { return `default` }
        let candidates = [variable, "AWS_ENDPOINT_URL"]
        guard let name = candidates.first(where: { environment[$0] != nil }), let value = environment[name] else {
            return `default`
        }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw AWSAccessError.invalidEndpoint("\(name) is '\(value)', which is not an http(s) URL with a host")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }
}
