import AWSAccess
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1

/// Checks SigV4 signatures the way AWS front ends do, so a client that signs wrongly fails here
/// as it would against AWS.
///
/// Every request needs a well-formed `Authorization` for the expected service and the mock's
/// region, dated within the allowed skew. A signature whose access key the mock knows (its test
/// credentials, or credentials it issued) is verified in full; with test credentials configured, an
/// unknown key is refused too.
struct RequestAuthenticator: Sendable {
    /// Why a request is refused; each protocol words it its own way.
    enum Failure: Error, Equatable {
        case missing
        case malformed(String)
        case wrongScope(String)
        case clockSkew(String)
        case unknownKey
        case expiredToken
        case signatureMismatch
    }

    let region: String
    let state: MockState
    let maximumClockSkew: Duration

    /// Checks `request` (whose body is `body`) for `service`; throws the ``Failure``.
    func authenticate(_ request: Request, body: ByteBuffer, service: String, logger: Logger, now: Date = Date()) throws(Failure) {
        let signed = Self.signatureInput(of: request, body: body)
        guard let header = signed.headers.first(name: "authorization") else {
            throw .missing
        }
        guard let authorization = SigV4Authorization(parsing: header) else {
            throw .malformed("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of AWS4-HMAC-SHA256.")
        }
        guard authorization.service == service else {
            throw .wrongScope("Credential should be scoped to correct service: '\(service)'.")
        }
        guard authorization.region == self.region else {
            throw .wrongScope("Credential should be scoped to a valid region, not '\(authorization.region)'.")
        }
        guard let stamp = signed.headers.first(name: "x-amz-date"), let date = AWSDateFormat.parseAmzDate(stamp) else {
            throw .malformed("Authorization requires an X-Amz-Date header of the form yyyyMMdd'T'HHmmss'Z'.")
        }
        let skew = Double(self.maximumClockSkew.components.seconds)
        guard abs(date.timeIntervalSince(now)) <= skew else {
            throw .clockSkew("Signature expired: \(stamp) is not within \(Int(skew)) seconds of \(AWSDateFormat.amzDate(now)).")
        }
        let credentials: AWSCredentials
        switch self.state.status(ofAccessKey: authorization.accessKeyID, now: now) {
        case .valid(let known):
            credentials = known
        case .expired:
            throw .expiredToken
        case .unknown:
            guard self.state.testCredentials == nil else { throw .unknownKey }
            return
        }
        let signer = SigV4Signer(service: service, region: self.region)
        do {
            try signer.verify(signed) { $0 == credentials.accessKeyID ? credentials : nil }
        } catch {
            let expected = signer.signature(of: signed, signedHeaders: authorization.signedHeaders, credentials: credentials, date: date)
            logger.warning(
                "Signature mismatch",
                metadata: [
                    "access_key_id": "\(authorization.accessKeyID)",
                    "reason": "\(error)",
                    "expected_canonical_request": "\(expected.canonicalRequest)",
                ]
            )
            throw .signatureMismatch
        }
    }

    /// The parts of a received request that its signature covers, as they came over the wire.
    static func signatureInput(of request: Request, body: ByteBuffer) -> SigV4Request {
        let target = request.head.path ?? "/"
        let (path, query) =
            target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) }
            ?? (target, nil)
        var headers = HTTPHeaders()
        // HTTP/1's Host header arrives as the request's authority.
        if let authority = request.head.authority {
            headers.add(name: "host", value: authority)
        }
        for field in request.headers {
            headers.add(name: field.name.canonicalName, value: field.value)
        }
        return SigV4Request(
            method: request.method.rawValue,
            path: path,
            query: query,
            headers: headers,
            payloadHash: SigV4Signer.payloadHash(of: body.readableBytesView)
        )
    }
}
