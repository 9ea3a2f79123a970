/// The name of an AWS error as REST-JSON services send it.
public enum AWSErrorType {
    /// The error's shape name in an `x-amzn-ErrorType` header (which may carry a `:` suffix,
    /// `ThrottlingException:http://internal.amazon.com/…`) or a JSON body's `__type` (which may
    /// carry a `#` namespace, `com.amazonaws.bedrockagentruntime#ThrottlingException`).
    public static func shapeName(_ errorType: String) -> String {
        let withoutSuffix = errorType.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(withoutSuffix.split(separator: "#", omittingEmptySubsequences: false).last ?? "")
    }
}
