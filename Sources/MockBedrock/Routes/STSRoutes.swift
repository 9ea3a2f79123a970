import AWSAccess
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1

/// STS's query protocol at `POST /`: `GetCallerIdentity` (signed) and `AssumeRoleWithWebIdentity`
/// (unsigned, as in AWS), answering in STS's XML.
struct STSRoutes: Sendable {
    let configuration: MockBedrockConfiguration
    let state: MockState
    let authenticator: RequestAuthenticator

    func register(on router: Router<MockRequestContext>) {
        router.post("/") { request, context in
            try await self.handle(request, context: context)
        }
    }

    private func handle(_ request: Request, context: MockRequestContext) async throws -> Response {
        let requestId = UUID().uuidString.lowercased()
        let body = try await request.body.collect(upTo: 1024 * 1024)
        let form = Self.parseForm(String(buffer: body))
        switch form["Action"] {
        case "GetCallerIdentity":
            do {
                try self.authenticator.authenticate(request, body: body, service: "sts", logger: context.logger)
            } catch {
                return Self.error(for: error, requestId: requestId)
            }
            let accessKey =
                RequestAuthenticator.signatureInput(of: request, body: body).headers.first(name: "authorization")
                .flatMap(SigV4Authorization.init(parsing:))?.accessKeyID ?? "unknown"
            return Self.xml(
                """
                <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                  <GetCallerIdentityResult>
                    <Arn>arn:aws:iam::\(self.configuration.account):user/mock-bedrock</Arn>
                    <UserId>\(accessKey)</UserId>
                    <Account>\(self.configuration.account)</Account>
                  </GetCallerIdentityResult>
                  <ResponseMetadata><RequestId>\(requestId)</RequestId></ResponseMetadata>
                </GetCallerIdentityResponse>
                """
            )
        case "AssumeRoleWithWebIdentity":
            guard let roleArn = form["RoleArn"], !roleArn.isEmpty else {
                return Self.error(status: 400, code: "ValidationError", message: "RoleArn is required", requestId: requestId)
            }
            guard let token = form["WebIdentityToken"], !token.isEmpty else {
                return Self.error(status: 400, code: "ValidationError", message: "WebIdentityToken is required", requestId: requestId)
            }
            let session = form["RoleSessionName"] ?? "mock-session"
            let role = roleArn.split(separator: "/").last.map(String.init) ?? "role"
            let credentials = self.state.issueCredentials(lifetime: self.configuration.issuedCredentialLifetime, now: Date())
            return Self.xml(
                """
                <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                  <AssumeRoleWithWebIdentityResult>
                    <SubjectFromWebIdentityToken>mock-subject</SubjectFromWebIdentityToken>
                    <AssumedRoleUser>
                      <Arn>arn:aws:sts::\(self.configuration.account):assumed-role/\(role)/\(session)</Arn>
                      <AssumedRoleId>AROAMOCKBEDROCK:\(session)</AssumedRoleId>
                    </AssumedRoleUser>
                    <Credentials>
                      <AccessKeyId>\(credentials.accessKeyID)</AccessKeyId>
                      <SecretAccessKey>\(credentials.secretAccessKey)</SecretAccessKey>
                      <SessionToken>\(credentials.sessionToken ?? "")</SessionToken>
                      <Expiration>\(AWSDateFormat.iso8601(credentials.expiration!))</Expiration>
                    </Credentials>
                    <Audience>sts.amazonaws.com</Audience>
                  </AssumeRoleWithWebIdentityResult>
                  <ResponseMetadata><RequestId>\(requestId)</RequestId></ResponseMetadata>
                </AssumeRoleWithWebIdentityResponse>
                """
            )
        default:
            return Self.error(
                status: 400,
                code: "InvalidAction",
                message: "Could not find operation \(form["Action"] ?? "(none)") for version \(form["Version"] ?? "(none)")",
                requestId: requestId
            )
        }
    }

    /// The STS wording of an authentication failure.
    static func error(for failure: RequestAuthenticator.Failure, requestId: String) -> Response {
        switch failure {
        case .missing:
            error(status: 403, code: "MissingAuthenticationToken", message: "Request is missing Authentication Token", requestId: requestId)
        case .malformed(let message):
            error(status: 400, code: "IncompleteSignature", message: message, requestId: requestId)
        case .wrongScope(let message), .clockSkew(let message):
            error(status: 403, code: "SignatureDoesNotMatch", message: message, requestId: requestId)
        case .unknownKey:
            error(status: 403, code: "InvalidClientTokenId", message: "The security token included in the request is invalid.", requestId: requestId)
        case .expiredToken:
            error(status: 400, code: "ExpiredToken", message: "The security token included in the request is expired", requestId: requestId)
        case .signatureMismatch:
            error(
                status: 403,
                code: "SignatureDoesNotMatch",
                message: "The request signature we calculated does not match the signature you provided.",
                requestId: requestId
            )
        }
    }

    static func error(status: Int, code: String, message: String, requestId: String) -> Response {
        xml(
            """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(escape(message))</Message></Error>
              <RequestId>\(requestId)</RequestId>
            </ErrorResponse>
            """,
            status: status
        )
    }

    private static func xml(_ text: String, status: Int = 200) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "text/xml"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// `application/x-www-form-urlencoded` fields; later duplicates win.
    static func parseForm(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

}
