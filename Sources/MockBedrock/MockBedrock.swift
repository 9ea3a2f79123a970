import ArgumentParser

/// MockBedrock, the offline Bedrock Agent Runtime. Its server arrives with the MockBedrock issue.
@main
struct MockBedrock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MockBedrock",
        abstract: "An offline AWS Bedrock Agent Runtime that replays fixtures as event-stream frames."
    )

    func run() throws {
        print("MockBedrock: the server is not built yet.")
    }
}
