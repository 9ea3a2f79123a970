import BedrockAgentRuntime

/// The synthetic agent `LOADTEST`, whose answer's shape each request chooses through session
/// attributes, so benchmarks need no fixture per size:
///
/// - `chunks`: how many chunks (default 100, at most 100000);
/// - `chunkBytes`: bytes in each (default 20, at most 1000000);
/// - `delayMs`: pause between chunks in milliseconds (default 0, at most 60000).
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
                value("delayMs", default: 0, maximum: 60_000).map { delay in
                    var steps: [Scenario.Step] = []
                    steps.reserveCapacity(chunks * 2)
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
