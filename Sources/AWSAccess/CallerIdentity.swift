/// Who the credentials belong to, as STS `GetCallerIdentity` reports it: the `/health` check of the
/// service shows that credentials work without calling Bedrock.
public struct CallerIdentity: Sendable, Equatable {
    /// The 12-digit account id.
    public let account: String
    /// The ARN of the caller: a user, or an assumed role's session.
    public let arn: String
    /// The unique id of the caller (`AIDA…`, or `AROA…:session`).
    public let userID: String

    /// Creates an identity from its parts.
    public init(account: String, arn: String, userID: String) {
        self.account = account
        self.arn = arn
        self.userID = userID
    }
}
