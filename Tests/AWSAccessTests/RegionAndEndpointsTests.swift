import Testing

@testable import AWSAccess

@Suite("Region and endpoints")
struct RegionAndEndpointsTests {
    @Test("AWS_REGION, then AWS_DEFAULT_REGION, then the profile, else us-east-1")
    func regionPrecedence() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/.aws/config", "[default]\nregion = eu-central-1\n[profile dev]\nregion = ap-southeast-2\n")
            func region(_ variables: [String: String]) throws -> String {
                try AWSRegion.resolve(environment: AWSEnvironment(variables: variables, homeDirectory: home)).name
            }
            #expect(try region(["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"]) == "eu-west-1")
            #expect(try region(["AWS_DEFAULT_REGION": "us-west-2"]) == "us-west-2")
            #expect(try region([:]) == "eu-central-1")
            #expect(try region(["AWS_PROFILE": "dev"]) == "ap-southeast-2")
            #expect(try region(["AWS_PROFILE": "other"]) == "us-east-1")
            #expect(try AWSRegion.resolve(environment: AWSEnvironment(variables: [:], homeDirectory: nil)) == .default)
        }
    }

    @Test("a malformed config file is reported when the region has to come from it")
    func malformedConfig() async throws {
        try await withTemporaryDirectory { home in
            try writeFile(home + "/.aws/config", "region = eu-central-1\n")
            #expect(throws: AWSAccessError.malformedProfileFile) {
                try AWSRegion.resolve(environment: AWSEnvironment(variables: [:], homeDirectory: home))
            }
            #expect(
                try AWSRegion.resolve(environment: AWSEnvironment(variables: ["AWS_REGION": "eu-west-1"], homeDirectory: home)).name == "eu-west-1"
            )
        }
    }

    @Test("regional endpoints by default")
    func defaults() throws {
        let endpoints = try AWSEndpoints(region: AWSRegion("eu-west-1"), environment: AWSEnvironment(variables: [:], homeDirectory: nil))
        #expect(endpoints.bedrockAgentRuntime == "https://bedrock-agent-runtime.eu-west-1.amazonaws.com")
        #expect(endpoints.sts == "https://sts.eu-west-1.amazonaws.com")
        #expect(endpoints.bedrockAgentCore == "https://bedrock-agentcore.eu-west-1.amazonaws.com")
        let china = try AWSEndpoints(region: AWSRegion("cn-north-1"), environment: AWSEnvironment(variables: [:], homeDirectory: nil))
        #expect(china.sts == "https://sts.cn-north-1.amazonaws.com.cn")
    }

    @Test("the SDKs' variables override them: per service first, then AWS_ENDPOINT_URL")
    func overrides() throws {
        let region = AWSRegion("us-east-1")
        let global = try AWSEndpoints(
            region: region,
            environment: AWSEnvironment(variables: ["AWS_ENDPOINT_URL": "http://127.0.0.1:4566/"], homeDirectory: nil)
        )
        #expect(global == AWSEndpoints(bedrockAgentRuntime: "http://127.0.0.1:4566", sts: "http://127.0.0.1:4566"))
        let specific = try AWSEndpoints(
            region: region,
            environment: AWSEnvironment(
                variables: [
                    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": "http://127.0.0.1:8081",
                    "AWS_ENDPOINT_URL_STS": "https://sts.example.test",
                ],
                homeDirectory: nil
            )
        )
        #expect(
            specific
                == AWSEndpoints(
                    bedrockAgentRuntime: "http://127.0.0.1:8081",
                    bedrockAgentCore: "http://127.0.0.1:4566",
                    sts: "https://sts.example.test"
                )
        )
        let agentCore = try AWSEndpoints(
            region: region,
            environment: AWSEnvironment(variables: ["AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": "http://127.0.0.1:9000/"], homeDirectory: nil)
        )
        #expect(agentCore.bedrockAgentCore == "http://127.0.0.1:9000")
        #expect(agentCore.bedrockAgentRuntime == "https://bedrock-agent-runtime.us-east-1.amazonaws.com")
        let ignored = try AWSEndpoints(
            region: region,
            environment: AWSEnvironment(
                variables: ["AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"],
                homeDirectory: nil
            )
        )
        #expect(ignored.sts == "https://sts.us-east-1.amazonaws.com")
    }

    @Test("an override that is not an http(s) URL is an error naming the variable")
    func invalidOverride() throws {
        let environment = AWSEnvironment(variables: ["AWS_ENDPOINT_URL_STS": "localhost:4566"], homeDirectory: nil)
        let error = try #require(throws: AWSAccessError.invalidEndpoint) { try AWSEndpoints(region: .default, environment: environment) }
        #expect(error.detail.contains("AWS_ENDPOINT_URL_STS"))
    }
}
