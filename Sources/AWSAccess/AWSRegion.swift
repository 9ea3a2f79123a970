/// An AWS region, such as `us-east-1`: where requests go and what they are signed for.
public struct AWSRegion: Sendable, Hashable, CustomStringConvertible {
    /// The region used when nothing names one, as the AWS CLI and botocore-based tools assume.
    public static let `default` = AWSRegion("us-east-1")

    /// The region's name.
    public let name: String

    /// Creates a region from its name.
    public init(_ name: String) {
        self.name = name
    }

    /// The region the AWS SDKs would use: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the
    /// selected profile's `region` in the shared config file, else ``default``.
    /// - Throws: ``AWSAccessError/malformedProfileFile`` or ``AWSAccessError/unreadableFile`` when
    ///   the shared files have to be read and cannot be.
    public static func resolve(environment: AWSEnvironment) throws -> AWSRegion {
        if let name = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] {
            return AWSRegion(name)
        }
        return try SharedConfigFiles(environment: environment).region.map(AWSRegion.init) ?? .default
    }

    /// The DNS suffix of the region's partition: `amazonaws.com`, or `amazonaws.com.cn` in China.
    var dnsSuffix: String {
        self.name.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
    }

    /// The region's name.
    public var description: String { self.name }
}
