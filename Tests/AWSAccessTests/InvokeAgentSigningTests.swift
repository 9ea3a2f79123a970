import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import AWSAccess

/// A signed InvokeAgent request, checked against botocore 1.43.11's `SigV4Auth` (service `bedrock`)
/// for the same request: the expected strings below were computed by botocore, not by this library.
@Suite("InvokeAgent signing matches botocore")
struct InvokeAgentSigningTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        sessionToken: "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
    )
    static let date = Date(timeIntervalSince1970: 1_735_787_045)  // 2025-01-02T03:04:05Z
    static let body = #"{"inputText":"Hello","streamingConfigurations":{"streamFinalResponse":true}}"#
    static let url =
        "https://bedrock-agent-runtime.us-east-1.amazonaws.com/agents/AGENT12345/agentAliases/TSTALIASID/sessions/\(PercentEncoding.encode("a:b.c"))/text"

    /// botocore's canonical request: the session id `a:b.c` is `a%3Ab.c` on the wire (botocore's own
    /// serializer produced that URL) and `a%253Ab.c` in the canonical URI.
    static let botocoreCanonicalRequest = """
        POST
        /agents/AGENT12345/agentAliases/TSTALIASID/sessions/a%253Ab.c/text

        content-type:application/json
        host:bedrock-agent-runtime.us-east-1.amazonaws.com
        x-amz-date:20250102T030405Z
        x-amz-security-token:FwoGZXIvYXdzEXAMPLESESSIONTOKEN

        content-type;host;x-amz-date;x-amz-security-token
        8946a211a2d721cbb56ab4c529214e278ed891e46105fa0b95edf9d06ec0fd0c
        """
    static let botocoreStringToSign = """
        AWS4-HMAC-SHA256
        20250102T030405Z
        20250102/us-east-1/bedrock/aws4_request
        4dc2e8f5aa64d183118d8c569ccf61e92e8c5466809f57c776cb83e9d510c7d5
        """
    static let botocoreSignature = "51f1f9ec75d06ec004676891da3868804fb301bd97c19635d06218e898711f1f"

    static func signedRequest() throws -> (HTTPClientRequest, SigV4Signature) {
        var request = HTTPClientRequest(url: Self.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let signer = SigV4Signer(service: "bedrock", region: "us-east-1")
        let signature = try signer.sign(&request, body: ByteBuffer(string: Self.body), credentials: Self.credentials, date: Self.date)
        return (request, signature)
    }

    /// The request as a server receives it: path and query as on the wire.
    static func received(_ request: HTTPClientRequest, body: String = body) -> SigV4Request {
        let url = URL(string: request.url)!
        return SigV4Request(
            method: request.method.rawValue,
            path: URLComponents(url: url, resolvingAgainstBaseURL: false)!.percentEncodedPath,
            query: url.query,
            headers: request.headers,
            payloadHash: SigV4Signer.payloadHash(of: Array(body.utf8))
        )
    }

    @Test("canonical request, string to sign and signature equal botocore's")
    func matchesBotocore() throws {
        let (request, signature) = try Self.signedRequest()
        #expect(request.url.contains("/sessions/a%3Ab.c/text"))
        #expect(signature.canonicalRequest.description == Self.botocoreCanonicalRequest)
        #expect(signature.stringToSign == Self.botocoreStringToSign)
        #expect(signature.signature == Self.botocoreSignature)
        #expect(
            request.headers.first(name: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=\(Self.botocoreSignature)"
        )
        #expect(request.headers.first(name: "X-Amz-Security-Token") == Self.credentials.sessionToken)
        #expect(request.headers.first(name: "Host") == "bedrock-agent-runtime.us-east-1.amazonaws.com")
        #expect(!request.headers.contains(name: "x-amz-content-sha256"))
    }

    @Test("a server verifies the signed request")
    func verifies() throws {
        let (request, _) = try Self.signedRequest()
        let verifier = SigV4Signer(service: "bedrock", region: "us-east-1")
        let authorization = try verifier.verify(Self.received(request)) { $0 == "AKIDEXAMPLE" ? Self.credentials : nil }
        #expect(authorization.accessKeyID == "AKIDEXAMPLE")
        #expect(authorization.signedHeaders == ["content-type", "host", "x-amz-date", "x-amz-security-token"])
    }

    @Test("a changed body, unknown key, other region or other session token fails verification")
    func rejectsTampering() throws {
        let (request, _) = try Self.signedRequest()
        let verifier = SigV4Signer(service: "bedrock", region: "us-east-1")
        let known: (String) -> AWSCredentials? = { $0 == "AKIDEXAMPLE" ? Self.credentials : nil }

        #expect(throws: AWSAccessError.signatureMismatch) {
            try verifier.verify(Self.received(request, body: #"{"inputText":"Bye"}"#), credentials: known)
        }
        #expect(throws: AWSAccessError.signatureMismatch) {
            try verifier.verify(Self.received(request)) { _ in nil }
        }
        #expect(throws: AWSAccessError.signatureMismatch) {
            try SigV4Signer(service: "bedrock", region: "eu-west-1").verify(Self.received(request), credentials: known)
        }
        #expect(throws: AWSAccessError.signatureMismatch) {
            try verifier.verify(Self.received(request)) { _ in
                AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.credentials.secretAccessKey, sessionToken: "other")
            }
        }
        var unsigned = Self.received(request)
        unsigned.headers.remove(name: "Authorization")
        #expect(throws: AWSAccessError.signatureMismatch) { try verifier.verify(unsigned, credentials: known) }
    }

    @Test("a signature mismatch explains itself without secrets")
    func mismatchDetail() throws {
        let (request, _) = try Self.signedRequest()
        let verifier = SigV4Signer(service: "bedrock", region: "us-east-1")
        let error = try #require(throws: AWSAccessError.self) {
            try verifier.verify(Self.received(request, body: "{}")) { _ in Self.credentials }
        }
        #expect(error.detail.contains("20250102/us-east-1/bedrock/aws4_request"))
        #expect(!error.detail.contains(Self.credentials.secretAccessKey))
        #expect(!error.detail.contains(Self.credentials.sessionToken!))
    }

    @Test("re-signing replaces the previous signature headers")
    func resigning() throws {
        var (request, _) = try Self.signedRequest()
        let signer = SigV4Signer(service: "bedrock", region: "us-east-1")
        try signer.sign(&request, body: ByteBuffer(string: Self.body), credentials: Self.credentials, date: Self.date.addingTimeInterval(60))
        #expect(request.headers["Authorization"].count == 1)
        #expect(request.headers["X-Amz-Date"] == ["20250102T030505Z"])
        #expect(request.headers["X-Amz-Security-Token"].count == 1)
    }

    @Test("a URL without a host cannot be signed")
    func invalidURL() {
        var request = HTTPClientRequest(url: "/relative/path")
        #expect(throws: AWSAccessError.invalidRequest) {
            try SigV4Signer(service: "bedrock", region: "us-east-1")
                .sign(&request, body: ByteBuffer(), credentials: Self.credentials, date: Self.date)
        }
    }
}
