import Foundation
import NIOCore

/// The JSON document of temporary credentials that the ECS/EKS container endpoint and EC2 instance
/// metadata serve: `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration` (and IMDS's `Code`).
struct CredentialsDocument: Decodable {
    let accessKeyID: String?
    let secretAccessKey: String?
    let token: String?
    let expiration: String?
    let code: String?
    let message: String?

    enum CodingKeys: String, CodingKey {
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
        case code = "Code"
        case message = "Message"
    }

    /// Decodes and checks a document.
    /// - Parameters:
    ///   - body: The response body.
    ///   - source: The source, named in errors.
    /// - Throws: ``AWSAccessError/malformedResponse`` for anything but a complete document,
    ///   ``AWSAccessError/requestRejected`` when IMDS reports a `Code` other than `Success`. The
    ///   body itself is never quoted, since it holds the secret.
    static func credentials(from body: ByteBuffer, source: CredentialSource) throws -> AWSCredentials {
        let document: CredentialsDocument
        do {
            document = try JSONDecoder().decode(CredentialsDocument.self, from: Data(body.readableBytesView))
        } catch {
            throw AWSAccessError.malformedResponse("\(source): the answer is not a JSON credentials document")
        }
        if let code = document.code, code != "Success" {
            throw AWSAccessError.requestRejected("\(source): the answer's Code is \(code): \(document.message ?? "no message")")
        }
        let missing = [
            ("AccessKeyId", document.accessKeyID), ("SecretAccessKey", document.secretAccessKey),
            ("Token", document.token), ("Expiration", document.expiration),
        ].filter { $0.1?.isEmpty ?? true }.map(\.0)
        guard missing.isEmpty, let accessKeyID = document.accessKeyID, let secretAccessKey = document.secretAccessKey,
            let token = document.token, let expirationText = document.expiration
        else {
            throw AWSAccessError.malformedResponse("\(source): the credentials document lacks \(missing.joined(separator: ", "))")
        }
        guard let expiration = AWSDateFormat.parseISO8601(expirationText) else {
            throw AWSAccessError.malformedResponse("\(source): Expiration '\(expirationText)' is not an ISO-8601 time")
        }
        return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: token, expiration: expiration)
    }
}
