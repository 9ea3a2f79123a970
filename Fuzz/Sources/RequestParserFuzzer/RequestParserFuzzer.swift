import BedrockAgentRuntime
import Foundation
import FuzzDriver

/// Runs libFuzzer over ``fuzzOne``.
@main
enum RequestParserFuzzer {
    static func main() {
        runLibFuzzer(fuzzOne)
    }
}

/// Besides crashes, hangs (libFuzzer's `-timeout`) and memory errors, which the sanitizers catch,
/// traps when a property fails:
/// - a refusal's byte offset lies within the input;
/// - an accepted value, encoded by Foundation and parsed again, is the same value (what the
///   parser accepts is JSON that other parsers agree on);
/// - an accepted value is nested no deeper than the limit.
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let value: JSONValue
    do {
        value = try StrictJSONParser.parse(bytes)
    } catch {
        precondition(error.byteOffset >= 0 && error.byteOffset <= count, "offset \(error.byteOffset) outside \(count) bytes")
        return 0
    }
    precondition(depth(of: value) <= StrictJSONParser.Limits().maxDepth, "accepted a value nested too deep")
    guard let encoded = try? JSONEncoder().encode(value) else {
        preconditionFailure("Foundation cannot encode an accepted value: \(value)")
    }
    let again: JSONValue
    do {
        again = try encoded.withUnsafeBytes { buffer in try StrictJSONParser.parse(buffer) }
    } catch {
        preconditionFailure("Foundation's encoding of an accepted value is refused: \(error)")
    }
    precondition(again == value, "the value changed through Foundation's encoding: \(value) became \(again)")
    return 0
}

func depth(of value: JSONValue) -> Int {
    switch value {
    case .array(let items): 1 + (items.map(depth).max() ?? 0)
    case .object(let members): 1 + (members.values.map(depth).max() ?? 0)
    default: 0
    }
}
