import BedrockAgentRuntime
import Foundation

/// The synthetic agent `LOADTEST`, whose answer's shape each request chooses through session
/// attributes, so benchmarks need no fixture per size:
///
/// - `chunks`: how many chunks (default 100, at most 100000);
/// - `chunkBytes`: bytes in each (default 20, at most 1000000);
/// - `delayMs`: pause between chunks in milliseconds (default 0, at most 60000);
/// - `traces`: orchestration steps before the answer (default 0, at most 100), each three trace
///   events as Bedrock sends them (the model invocation's input with a 2 KB prompt, its output
///   with usage, 100 input and 20 output tokens, and the rationale), sent only when the request
///   enables traces: for the cost of metering and tracing.
///
/// Chunk `i` is `chunkBytes` copies of the letter `"a" + i % 26`, so a client can check every
/// byte it receives without knowing anything else.
enum LoadAgent {
    /// The steps of the answer that `attributes` ask for, or what is wrong with them.
    static func steps(for attributes: [String: String]) -> Result<[Scenario.Step], LoadAgentError> {
        func value(_ name: String, default defaultValue: Int, maximum: Int) -> Result<Int, LoadAgentError> {
            guard let text = attributes[name] else { return .success(defaultValue) }
            guard let number = Int(text), (0...maximum).contains(number) else {
                return .failure(LoadAgentError(message: "sessionAttributes.\(name) must be a whole number from 0 to \(maximum), got '\(text)'"))
            }
            return .success(number)
        }
        return value("chunks", default: 100, maximum: 100_000).flatMap { chunks in
            value("chunkBytes", default: 20, maximum: 1_000_000).flatMap { chunkBytes in
                value("delayMs", default: 0, maximum: 60_000).flatMap { delay in
                    value("traces", default: 0, maximum: 100).map { traces in
                        var steps: [Scenario.Step] = []
                        steps.reserveCapacity(chunks * 2 + traces * 3)
                        for index in 0..<traces {
                            steps.append(contentsOf: Self.orchestrationStep(index))
                        }
                        for index in 0..<chunks {
                            if index > 0 && delay > 0 {
                                steps.append(.delay(milliseconds: delay))
                            }
                            steps.append(.chunk(bytes: Self.chunk(index, bytes: chunkBytes), citations: nil))
                        }
                        return steps
                    }
                }
            }
        }
    }

    /// The three trace events of orchestration step `index`, shaped as Bedrock's.
    static func orchestrationStep(_ index: Int) -> [Scenario.Step] {
        let traceId = "00000000-0000-4000-8000-000000000000-\(index)"
        let second = String(format: "%02d", index % 60)
        func event(_ part: JSONValue, at time: String) -> JSONValue {
            [
                "agentId": "LOADTEST", "agentAliasId": "TSTALIASID", "agentVersion": "DRAFT", "sessionId": "load",
                "callerChain": [["agentAliasArn": "arn:aws:bedrock:us-east-1:123456789012:agent-alias/LOADTEST/TSTALIASID"]],
                "eventTime": .string(time), "trace": ["orchestrationTrace": part],
            ]
        }
        let prompt = String(repeating: "You are a load test agent. ", count: 76)
        return [
            .trace(
                event(
                    [
                        "modelInvocationInput": [
                            "foundationModel": "anthropic.claude-3-haiku-20240307-v1:0", "text": .string(prompt), "traceId": .string(traceId),
                            "type": "ORCHESTRATION",
                        ]
                    ],
                    at: "2025-01-01T00:00:\(second).000000000Z"
                )
            ),
            .trace(
                event(
                    [
                        "modelInvocationOutput": [
                            "metadata": [
                                "startTime": .string("2025-01-01T00:00:\(second).001000000Z"),
                                "endTime": .string("2025-01-01T00:00:\(second).501000000Z"),
                                "totalTimeMs": .number(500), "usage": ["inputTokens": .number(100), "outputTokens": .number(20)],
                            ],
                            "rawResponse": ["content": .string(String(repeating: "thinking ", count: 55))], "traceId": .string(traceId),
                        ]
                    ],
                    at: "2025-01-01T00:00:\(second).502000000Z"
                )
            ),
            .trace(
                event(["rationale": ["text": "The load test continues.", "traceId": .string(traceId)]], at: "2025-01-01T00:00:\(second).503000000Z")
            ),
        ]
    }

    /// The text of chunk `index`.
    static func chunk(_ index: Int, bytes: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: bytes)
    }
}

extension LoadAgent {
    /// The AgentCore Runtime `loadtest`, whose payload chooses its answer as `LOADTEST`'s session
    /// attributes do (`chunks`, `chunkBytes`, `delayMs`, numbers or strings), as Server-Sent
    /// Events: a string event per chunk, or with `"style": "strands"` the two events Strands
    /// sends for each (the raw model event and the callback event with the text in `data`).
    static let runtimeName = "loadtest"

    static func runtimeSteps(for payload: JSONValue?) -> Result<[RuntimeScenario.Step], LoadAgentError> {
        var attributes: [String: String] = [:]
        for name in ["chunks", "chunkBytes", "delayMs"] {
            switch payload?[name] {
            case .number(let number)?: attributes[name] = String(Int(number))
            case .string(let text)?: attributes[name] = text
            default: break
            }
        }
        let strands = payload?["style"] == "strands"
        return Self.steps(for: attributes).map { steps in
            steps.flatMap { step -> [RuntimeScenario.Step] in
                switch step {
                case .chunk(let bytes, _):
                    let text = String(decoding: bytes, as: UTF8.self)
                    guard strands else { return [.data(.string(text))] }
                    return [
                        .data(["event": ["contentBlockDelta": ["delta": ["text": .string(text)], "contentBlockIndex": .number(0)]]]),
                        .data(["data": .string(text), "delta": ["text": .string(text)], "event_loop_cycle_id": "load"]),
                    ]
                case .delay(let milliseconds): return [.delay(milliseconds: milliseconds)]
                default: return []
                }
            }
        }
    }
}

/// Session attributes that do not describe a load answer.
struct LoadAgentError: Error {
    var message: String
}
