/// The `Authorization` header of a SigV4-signed request:
/// `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=…`.
///
/// The signer writes it; a server parses it to learn whose keys and which headers to verify with.
public struct SigV4Authorization: Sendable, Equatable {
    /// The algorithm name SigV4 puts first in the header and the string to sign.
    static let algorithm = "AWS4-HMAC-SHA256"

    /// The access key id that signed.
    public let accessKeyID: String
    /// The scope date, `yyyyMMdd`.
    public let date: String
    /// The signing region.
    public let region: String
    /// The signing name of the service.
    public let service: String
    /// The lowercase names of the signed headers, in order.
    public let signedHeaders: [String]
    /// The lowercase hex signature.
    public let signature: String

    /// Creates the header's content from its parts.
    public init(accessKeyID: String, date: String, region: String, service: String, signedHeaders: [String], signature: String) {
        self.accessKeyID = accessKeyID
        self.date = date
        self.region = region
        self.service = service
        self.signedHeaders = signedHeaders
        self.signature = signature
    }

    /// Parses a header value; `nil` when it is not a well-formed SigV4 authorization.
    public init?(parsing header: String) {
        guard header.hasPrefix(Self.algorithm + " ") else { return nil }
        var fields: [String: String] = [:]
        for part in header.dropFirst(Self.algorithm.count + 1).split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            fields[pair[0].trimmingASCIIWhitespace()] = pair[1].trimmingASCIIWhitespace()
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"], !signature.isEmpty
        else { return nil }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard scope.count == 5, scope[4] == "aws4_request", !scope[0].isEmpty else { return nil }
        self.init(
            accessKeyID: String(scope[0]),
            date: String(scope[1]),
            region: String(scope[2]),
            service: String(scope[3]),
            signedHeaders: signedHeaders.split(separator: ";").map(String.init),
            signature: signature
        )
    }

    /// `date/region/service/aws4_request`.
    public var credentialScope: String {
        "\(self.date)/\(self.region)/\(self.service)/aws4_request"
    }

    /// The header value.
    public var headerValue: String {
        "\(Self.algorithm) Credential=\(self.accessKeyID)/\(self.credentialScope), SignedHeaders=\(self.signedHeaders.joined(separator: ";")), Signature=\(self.signature)"
    }
}
