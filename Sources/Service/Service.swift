import ArgumentParser

/// The Bedrock Agent streaming service. Its HTTP server arrives with the service issue; until then
/// the executable only identifies itself, so that packaging and CI can already build it.
@main
struct Service: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bedrock-agent-streaming",
        abstract: "Streams AWS Bedrock Agent answers as newline-delimited JSON.",
        version: "0.1.0"
    )

    func run() throws {
        print("bedrock-agent-streaming \(Self.configuration.version): the HTTP service is not built yet.")
    }
}
