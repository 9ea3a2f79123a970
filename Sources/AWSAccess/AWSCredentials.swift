import struct Foundation.Date

/// A set of AWS credentials: long-term keys, or temporary ones with a session token and an expiration.
///
/// A value, so a request signed with one set keeps it even when the cache is refreshed meanwhile.
/// Printing, `dump` and string interpolation show the access key id only; the secret access key and
/// the session token are redacted.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key id (`AKIA…` for long-term keys, `ASIA…` for temporary ones); not a secret.
    public let accessKeyID: String
    /// The secret access key that signs requests.
    public let secretAccessKey: String
    /// The session token of temporary credentials, sent as `X-Amz-Security-Token`.
    public let sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys, which are never refreshed.
    public let expiration: Date?

    /// Creates credentials.
    /// - Parameters:
    ///   - accessKeyID: The access key id.
    ///   - secretAccessKey: The secret access key.
    ///   - sessionToken: The session token of temporary credentials.
    ///   - expiration: When temporary credentials expire; `nil` for credentials that do not.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The access key id and expiration; the secrets redacted.
    public var description: String {
        let token = self.sessionToken == nil ? "nil" : "<redacted>"
        let expiration = self.expiration.map { "\($0)" } ?? "nil"
        return
            "AWSCredentials(accessKeyID: \(self.accessKeyID), secretAccessKey: <redacted>, sessionToken: \(token), expiration: \(expiration))"
    }

    /// The same as ``description``, so debug printing redacts too.
    public var debugDescription: String { self.description }

    /// The fields for `dump` and debuggers, the secrets redacted.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": self.accessKeyID,
                "secretAccessKey": "<redacted>",
                "sessionToken": self.sessionToken == nil ? "nil" : "<redacted>",
                "expiration": self.expiration as Any,
            ]
        )
    }
}
