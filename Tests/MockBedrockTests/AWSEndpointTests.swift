import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TestSupport
import Testing

@testable import MockBedrock

/// STS and the container-credentials endpoint, and the credentials they issue in use.
@Suite("MockBedrock STS and container credentials", .timeLimit(.minutes(2)))
struct AWSEndpointTests {
    @Test("GetCallerIdentity answers the account to a signed call and refuses an unsigned one")
    func callerIdentity() async throws {
        try await withMock { mock in
            let signed = try await mock.sts("Action=GetCallerIdentity&Version=2011-06-15", credentials: testCredentials)
            #expect(signed.status == 200)
            #expect(xmlValue("Account", in: signed.body) == "123456789012")
            #expect(xmlValue("Arn", in: signed.body)?.hasPrefix("arn:aws:iam::123456789012:") == true)

            let unsigned = try await mock.sts("Action=GetCallerIdentity&Version=2011-06-15", credentials: nil)
            #expect(unsigned.status == 403)
            #expect(xmlValue("Code", in: unsigned.body) == "MissingAuthenticationToken")

            let unknown = try await mock.sts("Action=Dance&Version=2011-06-15", credentials: nil)
            #expect(unknown.status == 400)
            #expect(xmlValue("Code", in: unknown.body) == "InvalidAction")
        }
    }

    @Test("AssumeRoleWithWebIdentity issues credentials that the mock then accepts")
    func webIdentity() async throws {
        try await withMock { mock in
            let answer = try await mock.sts(
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&RoleSessionName=pod&WebIdentityToken=token",
                credentials: nil
            )
            #expect(answer.status == 200)
            let sessionToken: String = try #require(xmlValue("SessionToken", in: answer.body))
            let issued = AWSCredentials(
                accessKeyID: try #require(xmlValue("AccessKeyId", in: answer.body)),
                secretAccessKey: try #require(xmlValue("SecretAccessKey", in: answer.body)),
                sessionToken: sessionToken
            )
            #expect(xmlValue("Arn", in: answer.body) == "arn:aws:sts::123456789012:assumed-role/app/pod")
            #expect(try await mock.invoke(agent: "HELLO", credentials: issued).status == 200)

            let withoutToken = AWSCredentials(accessKeyID: issued.accessKeyID, secretAccessKey: issued.secretAccessKey)
            #expect(try await mock.invoke(agent: "HELLO", credentials: withoutToken).status == 403, "the session token is part of the credentials")

            let missing = try await mock.sts("Action=AssumeRoleWithWebIdentity&RoleArn=x", credentials: nil)
            #expect(missing.status == 400)
        }
    }

    @Test("the container endpoint requires its token and rotates credentials")
    func containerCredentials() async throws {
        try await withMock(containerToken: "secret-token") { mock in
            let refused = try await mock.get("/v2/credentials/task")
            #expect(refused.status == 403)

            var headers = HTTPHeaders()
            headers.add(name: "Authorization", value: "secret-token")
            let first = try await mock.get("/v2/credentials/task", headers: headers)
            let second = try await mock.get("/v2/credentials/task", headers: headers)
            #expect(first.status == 200)
            struct Document: Decodable {
                var AccessKeyId: String
                var SecretAccessKey: String
                var Token: String
                var Expiration: String
            }
            let one = try JSONDecoder().decode(Document.self, from: Data(first.body.utf8))
            let two = try JSONDecoder().decode(Document.self, from: Data(second.body.utf8))
            #expect(one.AccessKeyId != two.AccessKeyId)
            #expect(one.Expiration.hasSuffix("Z"))
            let credentials = AWSCredentials(accessKeyID: one.AccessKeyId, secretAccessKey: one.SecretAccessKey, sessionToken: one.Token)
            #expect(try await mock.invoke(agent: "HELLO", credentials: credentials).status == 200)
            #expect(mock.state.statistics.credentialsIssued == 2)
        }
    }

    @Test("the statistics count connections, streams and interrupted streams")
    func statistics() async throws {
        try await withMock { mock in
            _ = try await mock.invoke(agent: "HELLO")
            _ = try await mock.invoke(agent: "HELLO")
            let request = try mock.request(agent: "SLOW")
            let reader = Task {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                for try await _ in response.body {}
            }
            #expect(try await eventually { mock.state.statistics.streamsStarted == 3 })
            // Cancelling the reader closes the connection, which the mock sees at its next write.
            reader.cancel()
            let interrupted = try await eventually { mock.state.statistics.streamsInterrupted == 1 }
            let stats = mock.state.statistics
            #expect(interrupted)
            #expect(stats.invocations == 3)
            #expect(stats.streamsCompleted == 2)
            #expect(stats.connections >= 1)
            let served = try await mock.get("/_mock/stats")
            #expect(served.body.contains("\"streamsStarted\":3"))
        }
    }
}
