import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@testable import MockBedrock

/// What MockBedrock refuses before any stream, in Bedrock's order and wording: signatures, then
/// the service model's rules, then the agent.
@Suite("MockBedrock request checks", .timeLimit(.minutes(2)))
struct RequestCheckTests {
    @Test(
        "ids breaking the service model's rules are refused",
        arguments: [
            ("AGENTIDISTOOLONG", "TSTALIASID", "session-1", "agentId"),
            ("AGENT-1", "TSTALIASID", "session-1", "agentId"),
            ("HELLO", "ALIAS_1", "session-1", "agentAliasId"),
            ("HELLO", "TSTALIASID", "s", "sessionId"),
            ("HELLO", "TSTALIASID", "session/1", "sessionId"),
            ("HELLO", "TSTALIASID", String(repeating: "s", count: 101), "sessionId"),
        ]
    )
    func invalidIds(agent: String, alias: String, session: String, field: String) async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: agent, alias: alias, session: session)
            #expect(result.status == 400)
            #expect(result.errorType == "ValidationException")
            #expect(result.errorMessage?.contains(field) == true, "\(result.errorMessage ?? "")")
        }
    }

    @Test("a session id with ':' and '.' is accepted and its signature verifies in full")
    func sessionIdWithColon() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "HELLO", session: "user:42.session")
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-amz-bedrock-agent-session-id") == "user:42.session")
        }
    }

    @Test("body rules: bad JSON, a malformed memory id, too many invocation results")
    func invalidBodies() async throws {
        try await withMock { mock in
            var request = try mock.request(agent: "HELLO")
            let garbage = ByteBuffer(string: "{not json")
            request.headers.remove(name: "authorization")
            try SigV4Signer(service: "bedrock", region: "us-east-1").sign(&request, body: garbage, credentials: testCredentials)
            let unparsable = try await mock.read(request)
            #expect(unparsable.status == 400)
            #expect(unparsable.errorType == "SerializationException")

            let badMemory = try await mock.invoke(agent: "HELLO", InvokeAgentRequest(inputText: "Hi", memoryId: "m"))
            #expect(badMemory.status == 400)
            #expect(badMemory.errorMessage?.contains("memoryId") == true)

            let six = Array(repeating: JSONValue.object([:]), count: 6)
            let tooMany = try await mock.invoke(
                agent: "RETCTRL",
                InvokeAgentRequest(sessionState: .init(returnControlInvocationResults: six, invocationId: "x"))
            )
            #expect(tooMany.status == 400)
            #expect(tooMany.errorMessage?.contains("returnControlInvocationResults") == true)
        }
    }

    @Test("an unknown agent is ResourceNotFoundException, as on Bedrock")
    func unknownAgent() async throws {
        try await withMock { mock in
            let result = try await mock.invoke(agent: "NOSUCH")
            #expect(result.status == 404)
            #expect(result.errorType == "ResourceNotFoundException")
        }
    }

    @Test("signature checks")
    func signatures() async throws {
        try await withMock { mock in
            let unsigned = try await mock.invoke(agent: "HELLO", credentials: nil)
            #expect(unsigned.status == 403)
            #expect(unsigned.errorType == "MissingAuthenticationTokenException")

            let wrongSecret = AWSCredentials(accessKeyID: testCredentials.accessKeyID, secretAccessKey: "not-the-secret")
            let mismatch = try await mock.invoke(agent: "HELLO", credentials: wrongSecret)
            #expect(mismatch.status == 403)
            #expect(mismatch.errorType == "InvalidSignatureException")

            let stranger = try await mock.invoke(agent: "HELLO", credentials: AWSCredentials(accessKeyID: "AKIDSTRANGER", secretAccessKey: "x"))
            #expect(stranger.status == 403)
            #expect(stranger.errorType == "UnrecognizedClientException")

            let wrongRegion = try await mock.invoke(agent: "HELLO", region: "eu-west-1")
            #expect(wrongRegion.status == 403)
            #expect(wrongRegion.errorMessage?.contains("region") == true)

            let stale = try await mock.invoke(agent: "HELLO", date: Date().addingTimeInterval(-600))
            #expect(stale.status == 403)
            #expect(stale.errorMessage?.contains("Signature expired") == true)

            var tampered = try mock.request(agent: "HELLO")
            tampered.headers.replaceOrAdd(name: "Content-Type", value: "text/plain")
            let changedAfterSigning = try await mock.read(tampered)
            #expect(changedAfterSigning.status == 403)
            #expect(changedAfterSigning.errorType == "InvalidSignatureException")
        }
    }

    @Test("without test credentials only the form of a signature is checked")
    func formOnly() async throws {
        try await withMock(credentials: nil) { mock in
            let anyKey = try await mock.invoke(agent: "HELLO", credentials: AWSCredentials(accessKeyID: "AKIDANY", secretAccessKey: "whatever"))
            #expect(anyKey.status == 200)
            let unsigned = try await mock.invoke(agent: "HELLO", credentials: nil)
            #expect(unsigned.status == 403)
        }
    }
}
