import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1

/// SigV4 signing of an InvokeAgent request, as the service signs each stream's request before
/// sending it: on the path to every stream's first chunk.
struct SigningBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signing",
        abstract: "SigV4 signatures per second for an InvokeAgent request."
    )

    @Option(help: "Seconds to spend on the measurement (the best of several rounds is kept).")
    var seconds: Double = 1

    func run() throws {
        let target = InvokeAgentTarget(agentId: "LOADTEST", agentAliasId: "TSTALIASID", sessionId: UUID().uuidString)
        let url = "https://bedrock-agent-runtime.us-east-1.amazonaws.com" + target.path
        let input = InvokeAgentRequest(inputText: "What is the weather in Paris today?", streamingConfigurations: .init(streamFinalResponse: true))
        let body = ByteBuffer(bytes: try JSONEncoder().encode(input))
        let signer = SigV4Signer(service: "bedrock", region: "us-east-1")
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session-token")
        let signatures = 10_000
        let elapsed = try fastestRound(seconds: self.seconds) {
            var length = 0
            for _ in 0..<signatures {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Accept", value: "application/vnd.amazon.eventstream")
                try signer.sign(&request, body: body, credentials: credentials)
                length &+= request.headers.count
            }
            return length
        }
        print("SigV4, one core, best of rounds of \(self.seconds) s")
        print(
            pad("InvokeAgent request, \(body.readableBytes)-byte body", 36) + pad("\(format(Double(signatures) / elapsed)) signatures/s", 24)
                + String(format: "%.1f µs each", elapsed / Double(signatures) * 1e6)
        )
    }
}
