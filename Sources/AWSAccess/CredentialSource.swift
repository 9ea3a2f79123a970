/// Where a set of credentials comes from, for `/health` and logs; never includes a secret.
public enum CredentialSource: Sendable, Hashable, CustomStringConvertible {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
    case environment
    /// STS `AssumeRoleWithWebIdentity` with the token in `AWS_WEB_IDENTITY_TOKEN_FILE` (EKS IRSA).
    case webIdentity(roleARN: String)
    /// Static keys of a profile in the shared credentials or config file.
    case profile(name: String, file: String)
    /// The ECS task role or EKS Pod Identity endpoint; `endpoint` is scheme, host and port only.
    case container(endpoint: String)
    /// The EC2 instance profile role, through IMDSv2.
    case instanceMetadata(endpoint: String)

    /// A short, stable name of the kind of source: `environment`, `web-identity`, `profile`,
    /// `container` or `instance-metadata`.
    public var name: String {
        switch self {
        case .environment: "environment"
        case .webIdentity: "web-identity"
        case .profile: "profile"
        case .container: "container"
        case .instanceMetadata: "instance-metadata"
        }
    }

    /// A readable description for logs and errors, such as `profile 'dev' in /root/.aws/credentials`.
    public var description: String {
        switch self {
        case .environment:
            "environment variables"
        case .webIdentity(let roleARN):
            "web identity (role \(roleARN))"
        case .profile(let name, let file):
            "profile '\(name)' in \(file)"
        case .container(let endpoint):
            "container credentials endpoint \(endpoint)"
        case .instanceMetadata(let endpoint):
            "EC2 instance metadata \(endpoint)"
        }
    }
}
