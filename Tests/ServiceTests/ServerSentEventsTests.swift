import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// One Server-Sent Event as the HTML standard's parser reads it: `event` (default `message`),
/// the `data` lines joined with `\n`; comments (`: …`) are counted apart.
struct ServerSentEvent: Equatable {
    var event: String
    var data: String
}

/// A parser of `text/event-stream` after the HTML standard's rules ("Interpreting an event
/// stream"): lines end in LF, CRLF or CR; a blank line dispatches; `field: value` with one
/// optional space after the colon; a line starting with `:` is a comment; an event without data
/// is not dispatched.
struct EventStreamParser {
    private(set) var events: [ServerSentEvent] = []
    private(set) var comments: [String] = []
    private var event = ""
    private var data: [String] = []

    init(parsing text: String) {
        var lines: [Substring] = []
        var current = Substring()
        var rest = Substring(text)
        while let index = rest.firstIndex(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            current = rest[..<index]
            lines.append(current)
            rest = rest[rest.index(after: index)...]
        }
        for line in lines {
            self.feed(line)
        }
    }

    private mutating func feed(_ line: Substring) {
        if line.isEmpty {
            if !self.data.isEmpty {
                self.events.append(ServerSentEvent(event: self.event.isEmpty ? "message" : self.event, data: self.data.joined(separator: "\n")))
            }
            self.event = ""
            self.data = []
            return
        }
        if line.hasPrefix(":") {
            self.comments.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces))
            return
        }
        let name: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            name = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            (name, value) = (line, "")
        }
        switch name {
        case "event": self.event = String(value)
        case "data": self.data.append(String(value))
        default: break
        }
    }
}

extension TestService {
    /// Streams `body` asking for Server-Sent Events.
    func streamEvents(_ body: String) async throws -> StreamResult {
        try await self.stream(body, headers: [("Content-Type", "application/json"), ("Accept", "text/event-stream")])
    }
}

extension StreamResult {
    var serverSentEvents: EventStreamParser { EventStreamParser(parsing: self.body) }

    /// The events' data as JSON objects.
    var eventObjects: [JSONValue] {
        self.serverSentEvents.events.compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.data.utf8)) }
    }
}

@Suite("Server-Sent Events on /api/agent/stream", .timeLimit(.minutes(2)))
struct ServerSentEventsTests {
    @Test("the parser follows the standard's line rules")
    func parser() {
        let parsed = EventStreamParser(parsing: "event: a\r\ndata: 1\r\ndata:2\n\n: ping\n\ndata: x\rdata: y\r\rid: 3\nevent: nodata\n\n")
        #expect(parsed.events == [ServerSentEvent(event: "a", data: "1\n2"), ServerSentEvent(event: "message", data: "x\ny")])
        #expect(parsed.comments == ["ping"])
    }

    @Test(
        "Accept chooses the framing: text/event-stream, unless NDJSON is preferred; anything else stays NDJSON",
        arguments: [
            ([], NDJSONOutput.Framing.lines),
            (["*/*"], .lines),
            (["application/x-ndjson"], .lines),
            (["application/json"], .lines),
            (["text/event-stream"], .serverSentEvents),
            (["text/event-stream, */*"], .serverSentEvents),
            (["application/x-ndjson, text/event-stream"], .serverSentEvents),
            (["application/x-ndjson;q=1, text/event-stream;q=0.5"], .lines),
            (["TEXT/EVENT-STREAM; charset=utf-8"], .serverSentEvents),
            (["text/event-stream;q=0"], .lines),
            (["text/html", "text/event-stream"], .serverSentEvents),
        ]
    )
    func negotiation(accept: [String], framing: NDJSONOutput.Framing) {
        #expect(StreamRoute.framing(accepting: accept) == framing)
    }

    @Test(
        "every fixture: the same objects as NDJSON, one event each, named by type",
        arguments: [
            "HELLO", "CITED", "TRACED", "FILES", "RETCTRL", "UTF8SPLIT", "EXTHROTTLE", "FTRUNC", "FBADCRC", "HTNOTFOUND", "CAPKB", "CAPMULTI",
        ]
    )
    func sameObjects(agent: String) async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let body = #"{"input_text": "Hi", "agent_id": "\#(agent)", "session_id": "sse-\#(agent)", "enable_trace": true}"#
            let ndjson = try await service.stream(body)
            let sse = try await service.streamEvents(body)
            #expect(sse.status == 200)
            #expect(sse.headers.first(name: "content-type") == "text/event-stream")
            #expect(sse.headers.first(name: "cache-control") == "no-cache, no-store")
            let parsed = sse.serverSentEvents
            #expect(parsed.events.map(\.event) == sse.eventObjects.map { $0["type"]?.stringValue ?? "?" })
            // The same contract: the same types in order, the same invariants, the same answer.
            #expect(sse.eventObjects.map { $0["type"]?.stringValue ?? "?" } == ndjson.types)
            var asLines = sse
            asLines.body = parsed.events.map(\.data).joined(separator: "\n") + "\n"
            asLines.checkInvariants()
            #expect(sse.eventObjects.last?["final_content"] == ndjson.last?["final_content"])
            #expect(sse.eventObjects.last?["error_code"] == ndjson.last?["error_code"])
        }
    }

    @Test("a quiet stream gets a ping comment each HEARTBEAT_SECONDS, which is not an event, and its limits still hold")
    func heartbeats() async throws {
        let environment = ["HEARTBEAT_SECONDS": "0.2", "FIRST_EVENT_TIMEOUT_SECONDS": "1.1"]
        try await withService(environment: environment) { service in
            let sse = try await service.streamEvents(#"{"input_text": "Hi", "agent_id": "FSILENT"}"#)
            let parsed = sse.serverSentEvents
            // About five are due in 1.1 s at 0.2 s; a loaded machine may fire fewer timers.
            #expect(parsed.comments.count >= 1, "\(parsed.comments.count) pings in 1.1 s at 0.2 s")
            #expect(parsed.comments.allSatisfy { $0 == "ping" })
            #expect(parsed.events.map(\.event) == ["start", "error"])
            #expect(sse.eventObjects.last?["error_code"] == "first_event_timeout")
            // NDJSON has no heartbeat: the same silence writes nothing but the lines.
            let ndjson = try await service.stream(#"{"input_text": "Hi", "agent_id": "FSILENT"}"#)
            #expect(ndjson.types == ["start", "error"])
        }
    }

    @Test("an answer that keeps coming needs no heartbeat")
    func noHeartbeatWhileStreaming() async throws {
        try await withService(environment: ["HEARTBEAT_SECONDS": "1"]) { service in
            // SLOW: ten chunks 200 ms apart over 2 s, never 1 s of silence (a heartbeat written
            // regardless would show about twice). At 0.5 s, a loaded CI machine stalled a gap past it.
            let sse = try await service.streamEvents(#"{"input_text": "Hi", "agent_id": "SLOW"}"#)
            #expect(sse.serverSentEvents.comments.isEmpty)
            #expect(sse.serverSentEvents.events.filter { $0.event == "chunk" }.count == 10)
        }
    }

    @Test("a client that disconnects from an event stream cancels the Bedrock request, as with NDJSON")
    func disconnect() async throws {
        try await withService(environment: ["HEARTBEAT_SECONDS": "0.2"]) { service in
            var request = service.request(#"{"input_text": "Hi", "agent_id": "FSILENT"}"#)
            request.headers.add(name: "Accept", value: "text/event-stream")
            let reader = Task {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                for try await _ in response.body {}
            }
            #expect(try await eventually { service.mock.statistics.streamsStarted == 1 })
            try await Task.sleep(for: .milliseconds(500))
            reader.cancel()
            #expect(try await eventually { service.mock.statistics.streamsInterrupted == 1 })
            #expect(
                try await eventually { service.logLines.value.contains { $0.contains("Client disconnected") && $0.contains(#""format": "sse""#) } }
            )
            #expect(try await eventually { service.service.streams.count == 0 })
        }
    }
}
