import BedrockAgentRuntime
import Foundation
import NIOCore

/// The tokens an answer's model invocations used, summed as the agent reports them: Bedrock in
/// its trace events (`trace.<step>.modelInvocationOutput.metadata.usage`, in the pre-processing,
/// orchestration, routing-classifier and post-processing steps, a collaborator's included), an
/// AgentCore Strands agent in its `metadata` events.
struct TokenUsage: Sendable, Equatable {
    var inputTokens = 0
    var outputTokens = 0
    /// Model invocations that reported usage.
    var modelInvocations = 0

    /// Whether any usage was reported.
    var isEmpty: Bool { self.modelInvocations == 0 }

    /// The steps of a Bedrock trace that invoke a model.
    private static let steps = ["preProcessingTrace", "orchestrationTrace", "routingClassifierTrace", "postProcessingTrace"]
    private static let marker = Array(#""inputTokens""#.utf8)

    /// Adds the usage a trace event's payload reports. Most trace events carry none, and a
    /// payload without `"inputTokens"` in it is not parsed at all.
    mutating func add(tracePayload payload: ByteBuffer) {
        guard payload.withUnsafeReadableBytes({ Self.contains(Self.marker, in: $0) }) else { return }
        guard let trace = try? payload.withUnsafeReadableBytes({ bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) })
        else { return }
        for step in Self.steps {
            self.add(usage: trace["trace"]?[step]?["modelInvocationOutput"]?["metadata"]?["usage"])
        }
    }

    /// Adds a `{"inputTokens": N, "outputTokens": M}` object; anything else adds nothing.
    mutating func add(usage: JSONValue?) {
        guard case .number(let input)? = usage?["inputTokens"], case .number(let output)? = usage?["outputTokens"],
            input >= 0, output >= 0, input < 1e12, output < 1e12
        else { return }
        self.inputTokens += Int(input)
        self.outputTokens += Int(output)
        self.modelInvocations += 1
    }

    mutating func add(_ other: TokenUsage) {
        self.inputTokens += other.inputTokens
        self.outputTokens += other.outputTokens
        self.modelInvocations += other.modelInvocations
    }

    /// Whether `needle` occurs in `bytes`: `memchr` finds each candidate first byte, so a payload
    /// is scanned at memory speed. (The standard library's generic `firstRange(of:)` on a
    /// ByteBuffer view measured a millisecond a stream for nine trace events.)
    static func contains(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = needle.first, let base = bytes.baseAddress, bytes.count >= needle.count else { return false }
        var offset = 0
        let last = bytes.count - needle.count
        while offset <= last {
            guard let found = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
            let index = base.distance(to: UnsafeRawPointer(found))
            if needle.withUnsafeBytes({ memcmp(base + index, $0.baseAddress!, needle.count) }) == 0 { return true }
            offset = index + 1
        }
        return false
    }

    /// `{"input_tokens":N,"output_tokens":M,"model_invocations":K}`, as the outputs write it.
    func writeJSON(to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"input_tokens":"#)
        buffer.writeString(String(self.inputTokens))
        buffer.writeStaticString(#","output_tokens":"#)
        buffer.writeString(String(self.outputTokens))
        buffer.writeStaticString(#","model_invocations":"#)
        buffer.writeString(String(self.modelInvocations))
        buffer.writeStaticString("}")
    }
}
