import NIOHTTP1

import struct Foundation.Date

/// Signs requests with AWS Signature Version 4, and verifies received signatures.
///
/// One signer serves one service in one region; it is a value, cheap to copy, and shares its
/// ``SigningKeyCache``. Credentials are passed per request so that each request keeps the ones it
/// was signed with.
public struct SigV4Signer: Sendable {
    /// How a service wants its requests canonicalized and which headers the signer adds.
    public struct Configuration: Sendable, Equatable {
        /// Percent-encode the wire path once more in the canonical URI, so `a%3Ab.c` becomes
        /// `a%253Ab.c`: every service but S3.
        public var encodesPathTwice: Bool
        /// Remove `.`, `..` and empty segments from the path before encoding: every service but S3.
        public var normalizesPath: Bool
        /// Add and sign `x-amz-content-sha256` with the payload hash: S3 requires it; botocore does
        /// not send it to other services.
        public var addsContentSHA256Header: Bool
        /// Sign `X-Amz-Security-Token` (as botocore does); when `false` it is added after signing, as
        /// a few services (IoT) require.
        public var signsSecurityToken: Bool

        /// Creates a configuration; the defaults suit every service but S3.
        /// - Parameters:
        ///   - encodesPathTwice: Encode the wire path again in the canonical URI.
        ///   - normalizesPath: Normalize the path before encoding.
        ///   - addsContentSHA256Header: Add `x-amz-content-sha256`.
        ///   - signsSecurityToken: Sign the session token header.
        public init(
            encodesPathTwice: Bool = true,
            normalizesPath: Bool = true,
            addsContentSHA256Header: Bool = false,
            signsSecurityToken: Bool = true
        ) {
            self.encodesPathTwice = encodesPathTwice
            self.normalizesPath = normalizesPath
            self.addsContentSHA256Header = addsContentSHA256Header
            self.signsSecurityToken = signsSecurityToken
        }
    }

    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The signing name of the service (`bedrock` for Bedrock Agent Runtime, `sts` for STS).
    public let service: String
    /// The signing region.
    public let region: String
    /// Canonicalization rules and added headers.
    public let configuration: Configuration
    private let keyCache: SigningKeyCache

    /// Creates a signer.
    /// - Parameters:
    ///   - service: The signing name of the service, which is not always its endpoint prefix:
    ///     InvokeAgent signs as `bedrock`.
    ///   - region: The signing region.
    ///   - configuration: Canonicalization rules; the default suits every service but S3.
    ///   - keyCache: Where derived signing keys are kept; share one per process.
    public init(service: String, region: String, configuration: Configuration = .init(), keyCache: SigningKeyCache = SigningKeyCache()) {
        self.service = service
        self.region = region
        self.configuration = configuration
        self.keyCache = keyCache
    }

    /// The lowercase hex SHA-256 of a body, the payload hash of ``SigV4Request``.
    public static func payloadHash(of body: some Collection<UInt8>) -> String {
        Hashing.hex(Hashing.sha256(body))
    }

    /// Signs a request with an `Authorization` header.
    ///
    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` for session credentials, `x-amz-content-sha256`
    /// when configured, and `Authorization`, replacing earlier ones, so a retry can be re-signed.
    /// - Returns: The signature and the strings it was computed from.
    @discardableResult
    public func sign(_ request: inout SigV4Request, credentials: AWSCredentials, date: Date) -> SigV4Signature {
        for name in ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"] {
            request.headers.remove(name: name)
        }
        let time = SigningTime(date)
        request.headers.add(name: "X-Amz-Date", value: time.amzDate)
        if self.configuration.addsContentSHA256Header {
            request.headers.add(name: "x-amz-content-sha256", value: request.payloadHash)
        }
        if let token = credentials.sessionToken, self.configuration.signsSecurityToken {
            request.headers.add(name: "X-Amz-Security-Token", value: token)
        }
        let signature = self.signature(of: request, signedHeaders: nil, credentials: credentials, time: time)
        let authorization = SigV4Authorization(
            accessKeyID: credentials.accessKeyID,
            date: time.dateStamp,
            region: self.region,
            service: self.service,
            signedHeaders: signature.canonicalRequest.signedHeaders.split(separator: ";").map(String.init),
            signature: signature.signature
        )
        request.headers.add(name: "Authorization", value: authorization.headerValue)
        if let token = credentials.sessionToken, !self.configuration.signsSecurityToken {
            request.headers.add(name: "X-Amz-Security-Token", value: token)
        }
        return signature
    }

    /// Presigns a request: the signature goes into the query (`X-Amz-Signature` and friends), so
    /// the URL alone authorizes the request until it expires.
    /// - Parameters:
    ///   - request: The request; its query gains the `X-Amz-*` parameters.
    ///   - credentials: The credentials to sign with.
    ///   - date: The signing time.
    ///   - expires: How many seconds the URL stays valid.
    /// - Returns: The signature and the strings it was computed from.
    @discardableResult
    public func presign(_ request: inout SigV4Request, credentials: AWSCredentials, date: Date, expires: Int) -> SigV4Signature {
        let time = SigningTime(date)
        var parameters = [
            ("X-Amz-Algorithm", SigV4Authorization.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(self.credentialScope(time))"),
            ("X-Amz-Date", time.amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", CanonicalRequest.signableHeaderNames(request.headers).joined(separator: ";")),
        ]
        if let token = credentials.sessionToken, self.configuration.signsSecurityToken {
            parameters.append(("X-Amz-Security-Token", token))
        }
        self.appendQuery(parameters, to: &request)
        let signature = self.signature(of: request, signedHeaders: nil, credentials: credentials, time: time)
        var trailing = [("X-Amz-Signature", signature.signature)]
        if let token = credentials.sessionToken, !self.configuration.signsSecurityToken {
            trailing.append(("X-Amz-Security-Token", token))
        }
        self.appendQuery(trailing, to: &request)
        return signature
    }

    /// Computes the signature of a request as it stands, without changing it.
    ///
    /// A server verifying a received request passes the signed header names from its
    /// `Authorization` header (``SigV4Authorization/signedHeaders``) and the time of its `X-Amz-Date`.
    /// - Parameters:
    ///   - request: The request as on the wire.
    ///   - signedHeaders: The header names to sign; `nil` for all that SigV4 signs.
    ///   - credentials: The credentials whose secret signs.
    ///   - date: The signing time.
    public func signature(of request: SigV4Request, signedHeaders: [String]? = nil, credentials: AWSCredentials, date: Date) -> SigV4Signature {
        self.signature(of: request, signedHeaders: signedHeaders, credentials: credentials, time: SigningTime(date))
    }

    private func signature(of request: SigV4Request, signedHeaders: [String]?, credentials: AWSCredentials, time: SigningTime) -> SigV4Signature {
        let canonicalRequest = CanonicalRequest(request, signedHeaders: signedHeaders, configuration: self.configuration)
        let scope = self.credentialScope(time)
        let stringToSign = [SigV4Authorization.algorithm, time.amzDate, scope, canonicalRequest.hash].joined(separator: "\n")
        let key = self.keyCache.signingKey(
            secretAccessKey: credentials.secretAccessKey,
            date: time.dateStamp,
            region: self.region,
            service: self.service
        )
        return SigV4Signature(
            canonicalRequest: canonicalRequest,
            credentialScope: scope,
            stringToSign: stringToSign,
            signature: Hashing.hex(Hashing.hmacSHA256(key: key, data: stringToSign.utf8))
        )
    }

    /// Verifies the `Authorization` header of a received request.
    ///
    /// Checks that the header is well formed, that it is scoped to this signer's service and region
    /// and to the day of `X-Amz-Date`, that the access key is known, that a session token matches,
    /// and that the signature is the one these credentials give.
    /// - Parameters:
    ///   - request: The received request, its payload hash computed from the received body.
    ///   - credentials: The credentials of an access key id, `nil` for an unknown key.
    /// - Returns: The parsed authorization.
    /// - Throws: ``AWSAccessError/signatureMismatch`` explaining which check failed.
    @discardableResult
    public func verify(_ request: SigV4Request, credentials: (String) -> AWSCredentials?) throws -> SigV4Authorization {
        guard let header = request.headers.first(name: "authorization") else {
            throw AWSAccessError.signatureMismatch("the request has no Authorization header")
        }
        guard let authorization = SigV4Authorization(parsing: header) else {
            throw AWSAccessError.signatureMismatch("the Authorization header is not an AWS4-HMAC-SHA256 authorization")
        }
        guard authorization.service == self.service, authorization.region == self.region else {
            throw AWSAccessError.signatureMismatch(
                "the credential scope is \(authorization.region)/\(authorization.service), expected \(self.region)/\(self.service)"
            )
        }
        guard let amzDate = request.headers.first(name: "x-amz-date"), let date = AWSDateFormat.parseAmzDate(amzDate),
            AWSDateFormat.dateStamp(date) == authorization.date
        else {
            throw AWSAccessError.signatureMismatch("X-Amz-Date is missing, malformed or not on the credential scope's date")
        }
        guard let known = credentials(authorization.accessKeyID) else {
            throw AWSAccessError.signatureMismatch("the access key id \(authorization.accessKeyID) is unknown")
        }
        if let token = known.sessionToken, request.headers.first(name: "x-amz-security-token") != token {
            throw AWSAccessError.signatureMismatch("X-Amz-Security-Token does not match the session of \(authorization.accessKeyID)")
        }
        let expected = self.signature(of: request, signedHeaders: authorization.signedHeaders, credentials: known, date: date)
        guard Hashing.constantTimeEquals(Array(expected.signature.utf8), Array(authorization.signature.utf8)) else {
            throw AWSAccessError.signatureMismatch(
                "the signature does not match; the expected string to sign is:\n\(expected.stringToSign)"
            )
        }
        return authorization
    }

    private func credentialScope(_ time: SigningTime) -> String {
        "\(time.dateStamp)/\(self.region)/\(self.service)/aws4_request"
    }

    /// The signing time in the two forms SigV4 uses, formatted once per signature.
    private struct SigningTime {
        /// `yyyyMMdd'T'HHmmss'Z'`.
        let amzDate: String
        /// `yyyyMMdd`: the credential scope's day.
        let dateStamp: String

        init(_ date: Date) {
            self.amzDate = AWSDateFormat.amzDate(date)
            self.dateStamp = String(self.amzDate.prefix(8))
        }
    }

    private func appendQuery(_ parameters: [(String, String)], to request: inout SigV4Request) {
        let encoded = parameters.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }
        let existing = request.query.flatMap { $0.isEmpty ? nil : [$0] } ?? []
        request.query = (existing + encoded).joined(separator: "&")
    }
}
