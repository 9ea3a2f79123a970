import BedrockAgentCore
import BedrockAgentRuntime
import EventStream
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@testable import MockBedrock

/// Loading fixtures: every shipped one loads, and a broken one is refused with its name.
@Suite("MockBedrock fixtures")
struct FixtureTests {
    @Test("every shipped fixture loads")
    func shippedFixturesLoad() throws {
        let store = try FixtureStore.load(from: fixturesFolder)
        // The JSON scenarios and the recordings of the folder, and LOADTEST, which needs no file.
        let files = try FileManager.default.contentsOfDirectory(atPath: fixturesFolder.path)
            .filter { $0.hasSuffix(".json") && $0 != "README.json" || $0.hasSuffix(".eventstream") }
        #expect(store.agentIds.count == Set(files.map { $0.split(separator: ".")[0] }).count + 1)
        #expect(store.agentIds.count >= 42)
        for id in ["HELLO", "RETCTRL", "CAPKB", "LOADTEST", "EXTHROTTLE", "HTVALID", "RETRYSPLIT"] {
            #expect(store[id] != nil, "\(id)")
        }
        // AgentCore Runtimes, from runtimes/: one per file.
        let runtimes = try FileManager.default.contentsOfDirectory(atPath: fixturesFolder.appendingPathComponent("runtimes").path)
            .filter { $0.hasSuffix(".json") }
        #expect(store.runtimeNames == runtimes.map { String($0.dropLast(".json".count)) }.sorted())
        #expect(store.runtime(named: "strands_hello")?.scenario?.resolvedContentType == "text/event-stream")
        #expect(store.runtime(named: "json_answer")?.scenario?.resolvedContentType == "application/json")
        let modeled = { (type: String) in AgentCoreException(errorType: type)?.httpStatus }
        #expect(store.runtime(named: "http_throttling")?.scenario?.httpError?.resolvedStatus(modeled) == 429)
        #expect(store.runtime(named: "http_service_quota_exceeded")?.scenario?.httpError?.resolvedStatus(modeled) == 402)
    }

    static let broken: [(file: String, content: String, complaint: String)] = [
        ("BAD.json", "{not json", "BAD.json"),
        ("BAD.json", #"{"steps": [{"chunk": "a", "trace": {}}]}"#, "exactly one"),
        ("BAD.json", #"{"steps": [{"exception": "oopsException"}]}"#, "oopsException"),
        ("BAD.json", #"{"steps": [{"fault": "gremlins"}]}"#, "gremlins"),
        ("BAD.json", #"{"steps": [{"delayMs": -5}]}"#, "negative"),
        ("BAD.json", #"{"steps": [{"files": [{"name": "x", "type": "t"}]}]}"#, "exactly one of text, base64"),
        ("BAD.json", #"{"steps": [{"chunkBase64": "%%%"}]}"#, "base64"),
        ("NOT-AN-ID.json", #"{"steps": []}"#, "agent id"),
        ("LOADTEST.json", #"{"steps": []}"#, "defined twice"),
        ("BAD.eventstream", "garbage that is not a frame", "not a valid event stream"),
        ("runtimes/not-a-name.json", #"{"steps": []}"#, "runtime name"),
        ("runtimes/bad.json", #"{"steps": [{"data": 1, "body": "x"}]}"#, "exactly one of data, body"),
        ("runtimes/bad.json", #"{"steps": [{"fault": "badChecksum"}]}"#, "dropConnection or stall"),
        ("runtimes/bad.json", #"{"steps": [{"data": 1}], "httpError": {"type": "ThrottlingException"}}"#, "message"),
    ]

    @Test("a broken fixture stops start-up with a message naming the file", arguments: 0..<broken.count)
    func brokenFixture(index: Int) throws {
        let (file, content, complaint) = Self.broken[index]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: url)

        let error = #expect(throws: FixtureError.self) { try FixtureStore.load(from: folder) }
        #expect(error?.file.hasSuffix(file) == true)
        #expect(error?.description.contains(complaint) == true, "\(error?.description ?? "")")
    }

    @Test("a missing fixtures folder is an error naming it")
    func missingFolder() {
        let error = #expect(throws: FixtureError.self) { try FixtureStore.load(from: URL(fileURLWithPath: "/nonexistent/fixtures")) }
        #expect(error?.file == "/nonexistent/fixtures")
    }

    @Test("inspect prints one JSON line per frame of a recording")
    func inspectRecording() throws {
        let bytes = ByteBuffer(bytes: try Data(contentsOf: fixturesFolder.appendingPathComponent("CAPGUARD.eventstream")))
        let report = InspectCommand.report(bytes)
        #expect(report.isClean)
        #expect(report.lines.count == 15)
        let first = try JSONDecoder().decode(JSONValue.self, from: Data(report.lines[0].utf8))
        #expect(first["offset"] == .number(0))
        #expect(first["payload"]?["agentId"] != nil || first["payload"]?["bytes"] != nil)
    }

    @Test("inspect shows a chunk's bytes as text beside their base64")
    func inspectChunkText() throws {
        let bytes = ByteBuffer(bytes: try Data(contentsOf: fixturesFolder.appendingPathComponent("CAPSIMPLE.eventstream")))
        let lines = try InspectCommand.report(bytes).lines.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let chunk = try #require(lines.first { $0["chunk_text"] != nil })
        let base64 = try #require(chunk["payload"]?["bytes"]?.stringValue)
        #expect(chunk["chunk_text"]?.stringValue == String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self))
        #expect(chunk["chunk_text"]?.stringValue?.isEmpty == false)
    }

    @Test("inspect reports a CRC failure at its offset")
    func inspectCorruption() throws {
        var bytes = ByteBuffer(bytes: try Data(contentsOf: fixturesFolder.appendingPathComponent("CAPKB.eventstream")))
        let firstFrameLength = Int(bytes.getInteger(at: 0, as: UInt32.self)!)
        bytes.setInteger(bytes.getInteger(at: firstFrameLength + 20, as: UInt8.self)! ^ 0x01, at: firstFrameLength + 20)
        let report = InspectCommand.report(bytes)
        #expect(!report.isClean)
        #expect(report.lines.count == 2)
        let error = try JSONDecoder().decode(JSONValue.self, from: Data(report.lines[1].utf8))
        #expect(error["error"] == .string("Message checksum mismatch"))
        #expect(error["offset"] == .number(Double(firstFrameLength)))
    }
}
