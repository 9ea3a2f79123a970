import AWSAccess
import Foundation
import HTTPTypes
import Hummingbird

/// The ECS container-credentials endpoint (`GET /v2/credentials/{id}`, the path ECS puts in
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`): each call issues fresh credentials with the
/// configured lifetime, so clients' refresh paths can be exercised end to end.
struct ContainerCredentialsRoute: Sendable {
    let configuration: MockBedrockConfiguration
    let state: MockState

    private struct Document: Encodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String
        var Expiration: String
        var RoleArn: String
    }

    func register(on router: Router<MockRequestContext>) {
        router.get("/v2/credentials/:id") { request, _ in
            if let required = self.configuration.containerAuthorizationToken,
                request.headers[.authorization] != required
            {
                return Response(
                    status: .forbidden,
                    headers: [.contentType: "application/json"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(
                            string: #"{"code":"AccessDenied","message":"the Authorization header does not carry the container authorization token"}"#
                        )
                    )
                )
            }
            let credentials = self.state.issueCredentials(lifetime: self.configuration.issuedCredentialLifetime, now: Date())
            let document = Document(
                AccessKeyId: credentials.accessKeyID,
                SecretAccessKey: credentials.secretAccessKey,
                Token: credentials.sessionToken ?? "",
                Expiration: AWSDateFormat.iso8601(credentials.expiration!),
                RoleArn: "arn:aws:iam::\(self.configuration.account):role/mock-bedrock-task-role"
            )
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ScenarioPlayer.json(document))
            )
        }
    }
}
