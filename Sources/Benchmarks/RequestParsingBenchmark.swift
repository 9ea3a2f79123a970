import ArgumentParser
import BedrockAgentRuntime
import Foundation

/// The worst request bodies of `MAX_REQUEST_BYTES` (1 MiB by default) that can be built, read by
/// the service's request parser (``StrictJSONParser``), which runs on the connection's event loop:
/// how long one such body holds the loop. Field validation after it is linear in the fields and
/// far cheaper; the figure here is the cost of the bytes.
struct RequestParsingBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-parsing",
        abstract: "Time to parse the worst request bodies of MAX_REQUEST_BYTES."
    )

    @Option(help: "Body size in bytes (the service's MAX_REQUEST_BYTES).")
    var bytes = 1_048_576

    @Option(help: "Seconds to spend on each body (the best of several rounds is kept).")
    var seconds: Double = 1

    func run() throws {
        print("Request bodies of \(self.bytes) bytes, one core, best of rounds of \(self.seconds) s")
        let limits = StrictJSONParser.Limits()
        print("Limits: nesting \(limits.maxDepth) deep, \(limits.maxValues) values")
        for (name, body) in self.bodies() {
            var outcome = "accepted"
            let elapsed = fastestRound(seconds: self.seconds) {
                do {
                    _ = try StrictJSONParser.parse(body)
                    return 1
                } catch {
                    outcome = "refused"
                    return 1
                }
            }
            print(pad(name, 48) + pad(outcome, 10) + String(format: "%8.2f ms", elapsed * 1e3))
        }
        // What the service did before: Foundation's JSONDecoder into JSONValue, on the first body
        // (JSONValue tries each kind at every level).
        let (name, body) = self.bodies()[0]
        let data = Data(body)
        let before = fastestRound(seconds: self.seconds) {
            (try? JSONDecoder().decode(JSONValue.self, from: data)) == nil ? 1 : 2
        }
        print(pad(name + " (JSONDecoder, before)", 48) + pad("", 10) + String(format: "%8.2f ms", before * 1e3))
    }

    /// Each body is a valid request object (so that nothing short-circuits) padded to the size
    /// with one shape of content in an unknown field.
    private func bodies() -> [(String, [UInt8])] {
        let deepest = String(repeating: "[", count: 30) + String(repeating: "]", count: 30)
        return [
            ("arrays nested to the limit (32), repeated", self.body(repeating: deepest + ",")),
            ("as many values as allowed, nested to the limit", self.atValueLimit(deepest + ",", values: 30)),
            (
                "as many values as allowed: long escaped keys",
                self.atValueLimit(
                    #"{"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9": 1.5e-300},"#,
                    values: 2
                )
            ),
            ("arrays nested past the limit", self.body(repeating: String(repeating: "[", count: 1_000))),
            ("one object of short distinct keys", self.objectOfKeys()),
            ("empty objects and arrays", self.body(repeating: "{},[],")),
            ("small numbers with exponents", self.body(repeating: "-1.5e-300,")),
            ("a string of \\u escapes", self.stringBody(repeating: #"\u00e9\ud83d\ude00"#)),
            ("a string of 4-byte UTF-8 characters", self.stringBody(repeating: "😀")),
            ("a plain ASCII string (the common case)", self.stringBody(repeating: "What is machine learning? ")),
        ]
    }

    private func body(repeating element: String) -> [UInt8] {
        let head = #"{"input_text": "Hello", "agent_id": "HELLO", "unknown": ["#
        let tail = "0]}"
        let room = self.bytes - head.utf8.count - tail.utf8.count
        let elements = String(repeating: element, count: max(0, room / element.utf8.count))
        return Array((head + elements + tail).utf8)
    }

    /// Elements of `values` values each, as many as the value limit allows (less the request's own).
    private func atValueLimit(_ element: String, values: Int) -> [UInt8] {
        let count = (StrictJSONParser.Limits().maxValues - 10) / values
        let head = #"{"input_text": "Hello", "agent_id": "HELLO", "unknown": ["#
        return Array((head + String(repeating: element, count: count) + "0]}").utf8)
    }

    private func stringBody(repeating piece: String) -> [UInt8] {
        let head = #"{"input_text": "Hello", "agent_id": "HELLO", "unknown": ""#
        let tail = #""}"#
        let room = self.bytes - head.utf8.count - tail.utf8.count
        return Array((head + String(repeating: piece, count: max(0, room / piece.utf8.count)) + tail).utf8)
    }

    private func objectOfKeys() -> [UInt8] {
        var text = #"{"input_text": "Hello", "agent_id": "HELLO", "unknown": {"#
        var index = 0
        while text.utf8.count < self.bytes - 32 {
            text += "\"k\(String(index, radix: 36))\":0,"
            index += 1
        }
        text += #""end":0}}"#
        return Array(text.utf8)
    }
}
