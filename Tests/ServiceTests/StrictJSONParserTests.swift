import BedrockAgentRuntime
import Foundation
import Testing

@Suite("StrictJSONParser")
struct StrictJSONParserTests {
    private func parse(_ text: String, maxDepth: Int = 32) throws(StrictJSONParser.Error) -> JSONValue {
        try StrictJSONParser.parse(Array(text.utf8), limits: .init(maxDepth: maxDepth))
    }

    private func refusal(_ text: String, maxDepth: Int = 32) -> StrictJSONParser.Error? {
        do {
            _ = try self.parse(text, maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }

    @Test("every kind of value parses as itself")
    func values() throws {
        let value = try self.parse(
            #" { "s": "a\"b\\c\/d\n\u00e9\ud83d\ude00", "n": -12.5e2, "z": 0, "t": true, "f": false, "null": null, "a": [1, [], {}], "o": {"k": "v"} } "#
        )
        #expect(
            value
                == .object([
                    "s": .string("a\"b\\c/d\né😀"), "n": .number(-1250), "z": .number(0), "t": .bool(true), "f": .bool(false),
                    "null": .null, "a": .array([.number(1), .array([]), .object([:])]), "o": .object(["k": .string("v")]),
                ])
        )
        #expect(try self.parse("\u{FEFF}[1]") == .array([.number(1)]))
        #expect(try self.parse(#""plain ünïcödé""#) == .string("plain ünïcödé"))
    }

    @Test("whatever Foundation's parser reads, this one reads the same")
    func agreesWithFoundation() throws {
        let documents = [
            #"{"input_text": "Hello", "agent_id": "HELLO", "session_attributes": {"tier": "gold"}}"#,
            #"[1e3, 1E-2, -0, 0.5, 123456789012345, "\t\r\b\f"]"#,
            #"{"deep": [[[[{"x": [null, true]}]]]]}"#,
        ]
        for document in documents {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            #expect(try self.parse(document) == foundation, "\(document)")
        }
    }

    @Test(
        "what RFC 8259 does not allow is refused, saying what and where",
        arguments: [
            (#"{"a": 1,}"#, "a trailing comma before '}'", 8, ""),
            (#"[1, 2,]"#, "a trailing comma before ']'", 6, "[2]"),
            (#"{"a": 1, "a": 2}"#, "the key 'a' appears twice in one object", 9, "a"),
            (#"{"a": 1, "\u0061": 2}"#, "the key 'a' appears twice in one object", 9, "a"),
            (#"{"a": [1, {"b": 01}]}"#, "a number has a leading zero", 17, "a[1].b"),
            (#"{"a": NaN}"#, "unexpected 'N' where a value was expected", 6, "a"),
            (#"{'a': 1}"#, "unexpected ''' where a key was expected", 1, ""),
            (#"[1] [2]"#, "unexpected '[' after the JSON value", 4, ""),
            (#"{"a": "x"#, "a string is not closed", 6, "a"),
            ("[\"tab\there\"]", "a string holds the control character 0x09 unescaped", 5, "[0]"),
            (#"["\x"]"#, "a string holds the unknown escape '\\x'", 2, "[0]"),
            (#"["\ud800"]"#, "a string holds a lone surrogate escape (\\uD800)", 8, "[0]"),
            (#"["\udc00x"]"#, "a string holds a lone surrogate escape (\\uDC00)", 8, "[0]"),
            (#"[1.]"#, "a number has no digits after '.'", 3, "[0]"),
            (#"[-]"#, "a number has no digits after '-'", 2, "[0]"),
            (#"[1e]"#, "a number has no digits in its exponent", 3, "[0]"),
            ("", "the body is empty", 0, ""),
            ("[", "the body ends where a value was expected", 1, "[0]"),
            (#"{"weird key!": [true"#, "unexpected end of the body where ',' or ']' was expected", 20, #"["weird key!"][0]"#),
        ] as [(String, String, Int, String)]
    )
    func refusals(text: String, problem: String, offset: Int, path: String) {
        let error = self.refusal(text)
        #expect(error?.problem == problem)
        #expect(error?.byteOffset == offset)
        #expect(error?.path == path)
    }

    @Test("nesting is bounded: the limit itself parses, one more level is refused where it starts")
    func depth() throws {
        let limit = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try self.parse(limit) }
        let deeper = #"{"a": "# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
        let error = self.refusal(deeper)
        #expect(error?.problem == "arrays and objects are nested deeper than 32 levels")
        #expect(error?.byteOffset == 6 + 31)
        #expect(error?.path == "a" + String(repeating: "[0]", count: 31))
    }

    @Test("a number too large for a Double is refused with its length, not all of it")
    func hugeNumber() {
        let error = self.refusal(#"{"n": "# + String(repeating: "9", count: 10_000) + "}")
        #expect(error?.problem.hasPrefix("a number is too large for a 64-bit float (9999") == true)
        #expect(error?.problem.hasSuffix("…, 10000 characters)") == true)
        #expect(error?.path == "n")
    }

    @Test("UTF-16 and UTF-32 are named; invalid UTF-8 is refused")
    func encodings() {
        for bom: [UInt8] in [[0xFE, 0xFF, 0x00, 0x7B, 0x00, 0x7D], [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00]] {
            do {
                _ = try StrictJSONParser.parse(bom)
                Issue.record("UTF-16 with a byte order mark parsed")
            } catch {
                #expect(error.problem.contains("UTF-16"))
            }
        }
        do {
            _ = try StrictJSONParser.parse([0x7B, 0x00, 0x7D, 0x00])
            Issue.record("UTF-16LE parsed")
        } catch {
            #expect(error.problem.contains("not UTF-8"))
        }
        do {
            _ = try StrictJSONParser.parse([0x22, 0x63, 0xC3, 0x22])
            Issue.record("a cut UTF-8 sequence parsed")
        } catch {
            #expect(error.problem == "a string is not valid UTF-8")
        }
    }

    @Test("values are bounded: the limit itself parses, one more is refused where it starts")
    func valueCount() throws {
        // The outer array and 9,999 numbers: 10,000 values.
        let limit = "[" + Array(repeating: "0", count: 9_999).joined(separator: ",") + "]"
        #expect(throws: Never.self) { try self.parse(limit) }
        let over = "[" + Array(repeating: "0", count: 10_000).joined(separator: ",") + "]"
        let error = self.refusal(over)
        #expect(error?.problem == "the body holds more than 10000 values")
        #expect(error?.path == "[9999]")
        #expect(error?.byteOffset == 1 + 9_999 * 2)
    }

    @Test("the worst bodies of a mebibyte end at once: refused at the limits, or read")
    func worstCaseBodiesFinish() {
        // Not a timing assertion: before, such a body took minutes of an event loop; that these
        // finish at all is the check, and `Benchmarks request-parsing` measures them.
        let deepest = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        let repeated = "[" + String(repeating: deepest + ",", count: 16_000) + "1]"
        #expect(repeated.utf8.count > 1_000_000)
        #expect(self.refusal(repeated)?.problem == "the body holds more than 10000 values")
        let atTheLimit = "[" + String(repeating: deepest + ",", count: 300) + "1]"
        #expect(throws: Never.self) { try self.parse(atTheLimit) }
    }
}
