import BedrockAgentRuntime
import Testing

@Suite("Bedrock exceptions")
struct BedrockExceptionTests {
    @Test(
        "an error type names its exception with or without a namespace or a suffix",
        arguments: [
            ("ThrottlingException", BedrockException.throttling),
            ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/", .throttling),
            ("com.amazonaws.bedrockagentruntime#ValidationException", .validation),
            ("aws.protocoltests#AccessDeniedException:suffix", .accessDenied),
        ] as [(String, BedrockException)]
    )
    func named(errorType: String, exception: BedrockException) {
        #expect(BedrockException(errorType: errorType) == exception)
    }

    @Test("an unmodeled or empty error type names none", arguments: ["", "#", ":", "SerializationException", "throttlingException"])
    func unmodeled(errorType: String) {
        #expect(BedrockException(errorType: errorType) == nil)
    }

    @Test("an event's exception name is the error type with a lowercase first letter")
    func eventNames() {
        for exception in BedrockException.allCases {
            let name = exception.rawValue.prefix(1).lowercased() + exception.rawValue.dropFirst()
            #expect(BedrockException(eventName: name) == exception)
        }
    }
}
