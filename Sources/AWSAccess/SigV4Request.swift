import NIOHTTP1

/// The parts of an HTTP request that a SigV4 signature covers, as they are (or will be) on the wire.
///
/// Build one to sign an outgoing request, or from a received request to verify its signature.
public struct SigV4Request: Sendable {
    /// The HTTP method, such as `POST`.
    public var method: String
    /// The path as sent on the wire, percent-encoded: `/sessions/a%3Ab.c/text`.
    public var path: String
    /// The query as sent on the wire, without `?`; `nil` or empty for none.
    public var query: String?
    /// The headers; `Host` must be among them.
    public var headers: HTTPHeaders
    /// The lowercase hex SHA-256 of the body (``SigV4Signer/payloadHash(of:)``), or `UNSIGNED-PAYLOAD`.
    public var payloadHash: String

    /// Creates a request description.
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - path: The percent-encoded path as on the wire.
    ///   - query: The query as on the wire, without `?`.
    ///   - headers: The headers, including `Host`.
    ///   - payloadHash: The hex SHA-256 of the body.
    public init(method: String, path: String, query: String? = nil, headers: HTTPHeaders, payloadHash: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}
