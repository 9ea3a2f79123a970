import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird

/// An error in the format of AWS's REST-JSON services, as Bedrock answers before a stream: the
/// status, `x-amzn-ErrorType`, `x-amzn-RequestId` and a JSON body `{"message": ...}`.
struct AWSErrorResponse: Error {
    var status: Int
    var type: String
    var message: String

    init(status: Int, type: String, message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    init(_ exception: BedrockException, _ message: String) {
        self.init(status: exception.httpStatus, type: exception.errorType, message: message)
    }

    /// The REST-JSON wording of an authentication failure.
    init(_ failure: RequestAuthenticator.Failure) {
        switch failure {
        case .missing:
            self.init(status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token")
        case .malformed(let message):
            self.init(status: 403, type: "IncompleteSignatureException", message: message)
        case .wrongScope(let message), .clockSkew(let message):
            self.init(status: 403, type: "InvalidSignatureException", message: message)
        case .unknownKey:
            self.init(status: 403, type: "UnrecognizedClientException", message: "The security token included in the request is invalid.")
        case .expiredToken:
            self.init(status: 403, type: "ExpiredTokenException", message: "The security token included in the request is expired")
        case .signatureMismatch:
            self.init(
                status: 403,
                type: "InvalidSignatureException",
                message:
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            )
        }
    }

    func response(requestId: String) -> Response {
        let body = ScenarioPlayer.json(InvokeAgentEvent.ExceptionMessage(message: self.message))
        return Response(
            status: HTTPResponse.Status(code: self.status),
            headers: [
                .contentType: "application/json",
                HTTPField.Name("x-amzn-ErrorType")!: self.type,
                HTTPField.Name("x-amzn-RequestId")!: requestId,
            ],
            body: ResponseBody(byteBuffer: body)
        )
    }
}
