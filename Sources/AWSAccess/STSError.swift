/// An error answer of STS: `<ErrorResponse><Error><Code>…` with the HTTP status.
///
/// Match on ``code`` against its static members to react to a kind of failure: expired or invalid
/// credentials, a denied call, throttling.
public struct STSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error code STS reports, such as `InvalidClientTokenId`.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code as STS writes it.
        public let rawValue: String

        /// Creates a code from its text.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The access key id is not known (deleted keys, wrong partition).
        public static let invalidClientTokenId = Code(rawValue: "InvalidClientTokenId")
        /// The session token has expired.
        public static let expiredToken = Code(rawValue: "ExpiredToken")
        /// The signature is wrong: usually a wrong secret access key.
        public static let signatureDoesNotMatch = Code(rawValue: "SignatureDoesNotMatch")
        /// The caller may not call the action.
        public static let accessDenied = Code(rawValue: "AccessDenied")
        /// STS is not enabled in the region.
        public static let regionDisabled = Code(rawValue: "RegionDisabledException")
        /// Too many requests.
        public static let throttling = Code(rawValue: "Throttling")
        /// The web identity token is not valid for the role (AssumeRoleWithWebIdentity).
        public static let invalidIdentityToken = Code(rawValue: "InvalidIdentityToken")
        /// The web identity token has expired (AssumeRoleWithWebIdentity).
        public static let expiredTokenException = Code(rawValue: "ExpiredTokenException")
        /// The identity provider could not be reached by STS (AssumeRoleWithWebIdentity).
        public static let idpCommunicationError = Code(rawValue: "IDPCommunicationError")

        /// The code as STS writes it.
        public var description: String { self.rawValue }
    }

    /// The STS action that failed, such as `GetCallerIdentity`.
    public let action: String
    /// The HTTP status of the answer.
    public let statusCode: Int
    /// The error code.
    public let code: Code
    /// STS's explanation.
    public let message: String
    /// The request id, for AWS support.
    public let requestID: String?

    /// Action, status, code, message and request id, for logs.
    public var description: String {
        "STS \(self.action) failed with HTTP \(self.statusCode) \(self.code): \(self.message)"
            + (self.requestID.map { " (request id \($0))" } ?? "")
    }
}
