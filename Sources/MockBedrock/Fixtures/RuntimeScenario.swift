import BedrockAgentCore
import BedrockAgentRuntime
import Foundation

/// A scripted AgentCore Runtime answer, read from `Fixtures/runtimes/NAME.json` for the runtimes
/// whose ARN ends in `runtime/NAME-XXXXXXXXXX` (the format is in `Fixtures/README.md`). The
/// answer is the container's own bytes: Server-Sent Events for a streaming agent (each `data`
/// step one `data: <JSON>` event, as the AgentCore SDK writes what a handler yields), or a body
/// of another content type written as it is.
struct RuntimeScenario: Decodable, Sendable {
    /// What the scenario demonstrates, for people reading the fixtures.
    var description: String?
    /// The answer's `Content-Type`; `text/event-stream` when absent.
    var contentType: String?
    /// A modeled error answered instead of the agent's answer.
    var httpError: Scenario.HTTPError?
    /// What the answer carries, in order.
    var steps: [Step]

    var resolvedContentType: String { self.contentType ?? "text/event-stream" }

    /// One step of the answer. Exactly one of the members is set.
    enum Step: Sendable {
        /// One Server-Sent Event, `data: <the value as JSON>` and a blank line.
        case data(JSONValue)
        /// Bytes of the body as they are (a JSON answer, plain text, a broken event).
        case body(String)
        /// A pause before the next step.
        case delay(milliseconds: Int)
        /// A broken answer: the connection dropped, or a stall.
        case fault(Scenario.Fault)
    }
}

extension RuntimeScenario.Step: Decodable {
    private enum CodingKeys: String, CodingKey {
        case data, body, delayMs, fault
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: container.codingPath, debugDescription: "a step has exactly one of data, body, delayMs, fault")
            )
        }
        switch key {
        case .data: self = .data(try container.decode(JSONValue.self, forKey: .data))
        case .body: self = .body(try container.decode(String.self, forKey: .body))
        case .delayMs: self = .delay(milliseconds: try container.decode(Int.self, forKey: .delayMs))
        case .fault:
            let fault = try container.decode(Scenario.Fault.self, forKey: .fault)
            guard fault == .dropConnection || fault == .stall else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: container.codingPath, debugDescription: "a runtime's fault is dropConnection or stall")
                )
            }
            self = .fault(fault)
        }
    }
}
