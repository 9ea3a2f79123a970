/// An error from AWS access: signing, a credential source, region and endpoint settings or an AWS call.
///
/// Match on the kind with `==` against the static members (`error == .credentialsExpired`); read
/// ``detail`` for the explanation, which names the source, variable or file involved and never
/// contains a secret (no secret access key, session token or authorization token).
public struct AWSAccessError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case noCredentialSource
        case incompleteConfiguration
        case profileNotFound
        case malformedProfileFile
        case unreadableFile
        case invalidEndpoint
        case requestFailed
        case timedOut
        case unexpectedStatus
        case malformedResponse
        case requestRejected
        case credentialsExpired
        case invalidRequest
        case signatureMismatch
    }

    private let code: Code
    /// What went wrong and where: the credential source, environment variable, file or endpoint.
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Compares the kind of error only, so a thrown error matches the static member of its kind.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code
    }

    /// The kind and the detail, for logs.
    public var description: String {
        "AWSAccessError.\(self.code): \(self.detail)"
    }

    /// No credential source is configured: no environment keys, web identity, profile or container
    /// settings, and instance metadata is disabled.
    public static let noCredentialSource = Self(.noCredentialSource, "")
    /// A source is only partly configured, such as an access key id without its secret.
    public static let incompleteConfiguration = Self(.incompleteConfiguration, "")
    /// `AWS_PROFILE` names a profile that neither shared file defines.
    public static let profileNotFound = Self(.profileNotFound, "")
    /// A shared credentials or config file is not valid INI.
    public static let malformedProfileFile = Self(.malformedProfileFile, "")
    /// A file named by a setting (token file, shared file) is missing or cannot be read.
    public static let unreadableFile = Self(.unreadableFile, "")
    /// An endpoint setting is not a usable URL, or names a host that credentials may not come from.
    public static let invalidEndpoint = Self(.invalidEndpoint, "")
    /// A request could not be sent or answered: connection refused, reset, DNS failure.
    public static let requestFailed = Self(.requestFailed, "")
    /// A request got no complete answer within its timeout.
    public static let timedOut = Self(.timedOut, "")
    /// An endpoint answered with an HTTP status other than success and no AWS error document.
    public static let unexpectedStatus = Self(.unexpectedStatus, "")
    /// An answer could not be understood: not JSON or XML, or a required field missing.
    public static let malformedResponse = Self(.malformedResponse, "")
    /// The source refused to hand out credentials (an STS or instance metadata error code).
    public static let requestRejected = Self(.requestRejected, "")
    /// A source returned credentials whose expiration has already passed.
    public static let credentialsExpired = Self(.credentialsExpired, "")
    /// A request cannot be signed, such as a URL without a host.
    public static let invalidRequest = Self(.invalidRequest, "")
    /// A received request's SigV4 signature is missing, malformed or does not match.
    public static let signatureMismatch = Self(.signatureMismatch, "")

    static func noCredentialSource(_ detail: String) -> Self { Self(.noCredentialSource, detail) }
    static func incompleteConfiguration(_ detail: String) -> Self { Self(.incompleteConfiguration, detail) }
    static func profileNotFound(_ detail: String) -> Self { Self(.profileNotFound, detail) }
    static func malformedProfileFile(_ detail: String) -> Self { Self(.malformedProfileFile, detail) }
    static func unreadableFile(_ detail: String) -> Self { Self(.unreadableFile, detail) }
    static func invalidEndpoint(_ detail: String) -> Self { Self(.invalidEndpoint, detail) }
    static func requestFailed(_ detail: String) -> Self { Self(.requestFailed, detail) }
    static func timedOut(_ detail: String) -> Self { Self(.timedOut, detail) }
    static func unexpectedStatus(_ detail: String) -> Self { Self(.unexpectedStatus, detail) }
    static func malformedResponse(_ detail: String) -> Self { Self(.malformedResponse, detail) }
    static func requestRejected(_ detail: String) -> Self { Self(.requestRejected, detail) }
    static func credentialsExpired(_ detail: String) -> Self { Self(.credentialsExpired, detail) }
    static func invalidRequest(_ detail: String) -> Self { Self(.invalidRequest, detail) }
    static func signatureMismatch(_ detail: String) -> Self { Self(.signatureMismatch, detail) }
}

extension AWSAccessError {
    /// The same error with its detail preceded by `prefix`, so a wrapped layer can name its source.
    func prefixed(by prefix: String) -> Self {
        Self(self.code, prefix + self.detail)
    }
}
