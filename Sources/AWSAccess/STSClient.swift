import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of the two STS actions the service needs: `GetCallerIdentity` (the `/health` check)
/// and `AssumeRoleWithWebIdentity` (EKS web identity credentials).
///
/// Speaks STS's query protocol: a form POST, an XML answer; error answers become ``STSError``.
public struct STSClient: Sendable {
    /// Settings of the client.
    public struct Configuration: Sendable {
        /// The most one call may take, connecting and reading included.
        public var timeout: Duration

        /// Creates a configuration.
        /// - Parameter timeout: The most one call may take.
        public init(timeout: Duration = .seconds(5)) {
            self.timeout = timeout
        }
    }

    private static let apiVersion = "2011-06-15"

    /// The base URL calls go to.
    public let endpoint: String
    private let httpClient: HTTPClient
    private let signer: SigV4Signer
    private let configuration: Configuration

    /// Creates a client.
    /// - Parameters:
    ///   - httpClient: The HTTP client, shared with the rest of the process.
    ///   - region: The signing region.
    ///   - endpoint: The base URL, usually ``AWSEndpoints/sts``.
    ///   - configuration: Timeouts.
    ///   - keyCache: Where signing keys are cached.
    public init(
        httpClient: HTTPClient,
        region: AWSRegion,
        endpoint: String,
        configuration: Configuration = .init(),
        keyCache: SigningKeyCache = SigningKeyCache()
    ) {
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.signer = SigV4Signer(service: "sts", region: region.name, keyCache: keyCache)
        self.configuration = configuration
    }

    /// Returns the account, ARN and user id of `credentials`.
    /// - Throws: ``STSError`` when STS refuses (`InvalidClientTokenId`, `ExpiredToken`, …),
    ///   ``AWSAccessError`` when it cannot be reached in time or answers nonsense.
    public func getCallerIdentity(credentials: AWSCredentials) async throws -> CallerIdentity {
        let fields = try await self.call(action: "GetCallerIdentity", parameters: [], credentials: credentials)
        let result = "GetCallerIdentityResponse/GetCallerIdentityResult/"
        return CallerIdentity(
            account: try Self.field(result + "Account", in: fields, action: "GetCallerIdentity"),
            arn: try Self.field(result + "Arn", in: fields, action: "GetCallerIdentity"),
            userID: try Self.field(result + "UserId", in: fields, action: "GetCallerIdentity")
        )
    }

    /// Exchanges a web identity token (an OIDC JWT, such as an EKS service account token) for
    /// temporary credentials of a role. The call is not signed: the token is the proof.
    /// - Parameters:
    ///   - roleARN: The role to assume.
    ///   - roleSessionName: The name of the role session, shown in CloudTrail.
    ///   - webIdentityToken: The token.
    /// - Throws: ``STSError`` when STS refuses, ``AWSAccessError`` otherwise.
    public func assumeRoleWithWebIdentity(
        roleARN: String,
        roleSessionName: String,
        webIdentityToken: String
    ) async throws -> AWSCredentials {
        let action = "AssumeRoleWithWebIdentity"
        let fields = try await self.call(
            action: action,
            parameters: [("RoleArn", roleARN), ("RoleSessionName", roleSessionName), ("WebIdentityToken", webIdentityToken)],
            credentials: nil,
            secrets: [webIdentityToken]
        )
        let result = "AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/"
        let expiration = try Self.field(result + "Expiration", in: fields, action: action)
        guard let expirationDate = AWSDateFormat.parseISO8601(expiration) else {
            throw AWSAccessError.malformedResponse("STS \(action): Expiration '\(expiration)' is not an ISO-8601 time")
        }
        return AWSCredentials(
            accessKeyID: try Self.field(result + "AccessKeyId", in: fields, action: action),
            secretAccessKey: try Self.field(result + "SecretAccessKey", in: fields, action: action),
            sessionToken: try Self.field(result + "SessionToken", in: fields, action: action),
            expiration: expirationDate
        )
    }

    /// Posts an action, signed when `credentials` are given, and returns the answer's XML fields.
    /// - Parameter secrets: Values to remove from error messages besides the credentials' own.
    private func call(
        action: String,
        parameters: [(String, String)],
        credentials: AWSCredentials?,
        secrets: [String] = []
    ) async throws -> [String: String] {
        let form = ([("Action", action), ("Version", Self.apiVersion)] + parameters)
            .map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: self.endpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        let body = ByteBuffer(string: form)
        if let credentials {
            try self.signer.sign(&request, body: body, credentials: credentials)
        } else {
            request.body = .bytes(body)
        }
        let response = try await self.httpClient.collect(request, timeout: self.configuration.timeout, source: "STS \(action)")
        let fields = XMLFieldReader.fields(of: Data(response.body.readableBytesView))
        guard response.status == .ok else {
            guard let fields, let code = fields["ErrorResponse/Error/Code"] else {
                throw AWSAccessError.unexpectedStatus("STS \(action): \(self.endpoint) answered HTTP \(response.status.code) without an STS error")
            }
            let redacted = ([credentials?.secretAccessKey, credentials?.sessionToken].compactMap { $0 } + secrets)
                .reduce(fields["ErrorResponse/Error/Message"] ?? "") { $0.replacingOccurrences(of: $1, with: "<redacted>") }
            throw STSError(
                action: action,
                statusCode: Int(response.status.code),
                code: STSError.Code(rawValue: code),
                message: redacted,
                requestID: fields["ErrorResponse/RequestId"]
            )
        }
        guard let fields else {
            throw AWSAccessError.malformedResponse("STS \(action): the answer is not XML")
        }
        return fields
    }

    private static func field(_ path: String, in fields: [String: String], action: String) throws -> String {
        guard let value = fields[path] else {
            throw AWSAccessError.malformedResponse("STS \(action): the answer lacks \(path.split(separator: "/").last ?? "")")
        }
        return value
    }
}
