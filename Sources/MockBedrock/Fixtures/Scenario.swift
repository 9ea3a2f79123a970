import BedrockAgentRuntime
import Foundation

/// A scripted InvokeAgent answer, read from `Fixtures/AGENTID.json` (the format is documented in
/// `Fixtures/README.md`).
struct Scenario: Decodable, Sendable {
    /// What the scenario demonstrates, for people reading the fixtures.
    var description: String?
    /// An HTTP error answered instead of a stream.
    var httpError: HTTPError?
    /// What the stream carries, in order.
    var steps: [Step]
    /// Other steps for the first calls, before ``steps`` play (for retry tests: a first attempt
    /// that breaks, then an answer).
    var firstSteps: FirstSteps?

    struct FirstSteps: Decodable, Sendable {
        /// How many of the first calls for this agent play these steps.
        var times: Int
        var steps: [Step]
    }

    /// An HTTP error answered instead of the stream, for InvokeAgent and InvokeAgentRuntime alike.
    struct HTTPError: Decodable, Sendable {
        /// The `x-amzn-ErrorType`, e.g. `ThrottlingException`.
        var type: String
        /// Defaults to the status the operation's model gives `type` (`modeledStatus`), else 500.
        var status: Int?
        var message: String
        /// Fail only the first `times` calls for this agent, then play the steps (for retry tests).
        var times: Int?

        func resolvedStatus(_ modeledStatus: (String) -> Int?) -> Int {
            self.status ?? modeledStatus(self.type) ?? 500
        }
    }

    /// One step of a scripted stream. Exactly one of the members is set.
    enum Step: Sendable {
        /// A piece of answer text, with optional citations (`attribution.citations`).
        case chunk(bytes: [UInt8], citations: [JSONValue]?)
        /// A trace event, sent only when the request enables traces, as Bedrock does.
        case trace(JSONValue)
        /// Hands control back to the caller; the stream ends and the session waits for results.
        case returnControl(invocationId: String, invocationInputs: [JSONValue])
        /// Files produced by the code interpreter.
        case files([InvokeAgentEvent.OutputFile])
        /// A modeled exception as a stream event; the stream ends after it.
        case exception(BedrockException, message: String)
        /// An unmodeled error frame (`:error-code`, `:error-message`); the stream ends after it.
        case error(code: String, message: String)
        /// A pause before the next step.
        case delay(milliseconds: Int)
        /// A broken stream, for testing clients' failure handling.
        case fault(Fault)
    }

    /// The ways a stream can break on the wire.
    enum Fault: String, Decodable, Sendable, CaseIterable {
        /// A chunk frame whose message checksum is wrong; the stream ends after it.
        case badChecksum
        /// Half a frame, then a cleanly finished response.
        case truncatedFrame
        /// The connection is closed in the middle of the response body.
        case dropConnection
        /// Nothing more is sent for an hour (or until the client gives up).
        case stall
    }
}

extension Scenario.Step: Decodable {
    private enum CodingKeys: String, CodingKey {
        case chunk, chunkBase64, citations, trace, returnControl, files, exception, message, error, delayMs, fault
    }

    private struct ReturnControlStep: Decodable {
        var invocationId: String
        var invocationInputs: [JSONValue]
    }

    private struct FileStep: Decodable {
        var name: String
        var type: String
        var text: String?
        var base64: String?
    }

    private struct ErrorStep: Decodable {
        var code: String
        var message: String
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let present = container.allKeys.filter { $0 != .citations && $0 != .message }
        guard present.count == 1, let key = present.first else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "a step needs exactly one of chunk, chunkBase64, trace, returnControl, files, exception, error, delayMs, fault; found \(present.map(\.stringValue))"
                )
            )
        }
        switch key {
        case .chunk:
            self = .chunk(
                bytes: Array(try container.decode(String.self, forKey: .chunk).utf8),
                citations: try container.decodeIfPresent([JSONValue].self, forKey: .citations)
            )
        case .chunkBase64:
            let encoded = try container.decode(String.self, forKey: .chunkBase64)
            guard let bytes = Data(base64Encoded: encoded) else {
                throw DecodingError.dataCorruptedError(forKey: .chunkBase64, in: container, debugDescription: "not base64")
            }
            self = .chunk(bytes: Array(bytes), citations: try container.decodeIfPresent([JSONValue].self, forKey: .citations))
        case .trace:
            self = .trace(try container.decode(JSONValue.self, forKey: .trace))
        case .returnControl:
            let step = try container.decode(ReturnControlStep.self, forKey: .returnControl)
            self = .returnControl(invocationId: step.invocationId, invocationInputs: step.invocationInputs)
        case .files:
            let files = try container.decode([FileStep].self, forKey: .files)
            self = .files(
                try files.map { file in
                    let bytes: Data
                    switch (file.text, file.base64) {
                    case (let text?, nil): bytes = Data(text.utf8)
                    case (nil, let base64?):
                        guard let decoded = Data(base64Encoded: base64) else {
                            throw DecodingError.dataCorruptedError(
                                forKey: .files,
                                in: container,
                                debugDescription: "file \(file.name): base64 is not base64"
                            )
                        }
                        bytes = decoded
                    default:
                        throw DecodingError.dataCorruptedError(
                            forKey: .files,
                            in: container,
                            debugDescription: "file \(file.name) needs exactly one of text, base64"
                        )
                    }
                    return InvokeAgentEvent.OutputFile(name: file.name, type: file.type, bytes: bytes.base64EncodedString())
                }
            )
        case .exception:
            let name = try container.decode(String.self, forKey: .exception)
            guard let exception = BedrockException(errorType: name) ?? BedrockException(eventName: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .exception,
                    in: container,
                    debugDescription:
                        "'\(name)' is not one of InvokeAgent's exceptions: \(BedrockException.allCases.map(\.eventName).joined(separator: ", "))"
                )
            }
            self = .exception(exception, message: try container.decodeIfPresent(String.self, forKey: .message) ?? exception.errorType)
        case .error:
            let step = try container.decode(ErrorStep.self, forKey: .error)
            self = .error(code: step.code, message: step.message)
        case .delayMs:
            let milliseconds = try container.decode(Int.self, forKey: .delayMs)
            guard milliseconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .delayMs, in: container, debugDescription: "a delay cannot be negative")
            }
            self = .delay(milliseconds: milliseconds)
        case .fault:
            let name = try container.decode(String.self, forKey: .fault)
            guard let fault = Scenario.Fault(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fault,
                    in: container,
                    debugDescription: "'\(name)' is not a fault: \(Scenario.Fault.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            self = .fault(fault)
        case .citations, .message:
            preconditionFailure("filtered out above")
        }
    }
}
