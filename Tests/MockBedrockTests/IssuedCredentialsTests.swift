import AWSAccess
import Foundation
import Testing

@testable import MockBedrock

/// Credentials MockBedrock issues (STS, the container endpoint) are derived, not remembered: a
/// restarted MockBedrock with the same settings accepts them until they expire.
@Suite("MockBedrock: issued credentials")
struct IssuedCredentialsTests {
    static let testCredentials = AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "test/secret")

    @Test("another MockState with the same settings (a restart) knows them; expiry and tampering are seen")
    func derived() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let issuer = MockState(testCredentials: Self.testCredentials)
        let issued = issuer.issueCredentials(lifetime: .seconds(310), now: now)
        #expect(issued.accessKeyID.hasPrefix("ASIA") && issued.accessKeyID.count == 20)
        #expect(issued.expiration == Date(timeIntervalSince1970: 1_800_000_310))
        let restarted = MockState(testCredentials: Self.testCredentials)
        #expect(restarted.status(ofAccessKey: issued.accessKeyID, now: now) == .valid(issued))
        #expect(restarted.status(ofAccessKey: issued.accessKeyID, now: now.addingTimeInterval(310)) == .expired)
        // Another mock secret derives other secrets: its credentials do not sign for this one.
        let other = MockState(testCredentials: AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "another"))
        guard case .valid(let elsewhere) = other.status(ofAccessKey: issued.accessKeyID, now: now) else {
            Issue.record("a well-formed key id is known to any mock")
            return
        }
        #expect(elsewhere.secretAccessKey != issued.secretAccessKey)
        // Not an issued key id: unknown.
        for id in ["AKIDOTHER", "ASIA", issued.accessKeyID + "A", "ASIA" + "1111111" + "AAAAAAAAA"] {
            #expect(restarted.status(ofAccessKey: id, now: now) == .unknown, "\(id)")
        }
        // Two issues are two keys.
        #expect(issuer.issueCredentials(lifetime: .seconds(310), now: now).accessKeyID != issued.accessKeyID)
        #expect(issuer.statistics.credentialsIssued == 2)
    }
}
