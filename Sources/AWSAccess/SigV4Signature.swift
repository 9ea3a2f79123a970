/// The result of signing: the signature and the intermediate strings it was computed from.
///
/// The intermediate strings are what AWS shows in a `SignatureDoesNotMatch` error; comparing them
/// tells which part of a request two signers saw differently.
public struct SigV4Signature: Sendable, Equatable {
    /// The canonical request.
    public let canonicalRequest: CanonicalRequest
    /// `date/region/service/aws4_request`.
    public let credentialScope: String
    /// `AWS4-HMAC-SHA256`, the time, the scope and the canonical request's hash, one per line.
    public let stringToSign: String
    /// The lowercase hex HMAC-SHA256 of the string to sign under the signing key.
    public let signature: String
}
