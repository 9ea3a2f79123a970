import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fixtures").standardized
/// The repository's fixtures, loaded once for every test's mock.
let sharedFixtures = Result { try FixtureStore.load(from: fixturesFolder) }
let mockCredentials = AWSCredentials(accessKeyID: "AKIDSERVICETEST", secretAccessKey: "service/test/secret")

/// The service's group ended before it listened.
struct TestServiceDidNotStart: Error {
    var reason: String
}

/// A running service wired to its own in-process MockBedrock, and what a test needs of both.
struct TestService: Sendable {
    let port: Int
    let mock: MockState
    let mockPort: Int
    let logLines: Shared<[String]>
    let service: ServiceApplication
    let group: ServiceGroup

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// Posts `body` to the stream endpoint and reads the whole answer.
    func stream(_ body: String, headers: [(String, String)] = [("Content-Type", "application/json")]) async throws -> StreamResult {
        let response = try await HTTPClient.shared.execute(self.request(body, headers: headers), timeout: .seconds(30))
        var bytes = ByteBuffer()
        for try await piece in response.body {
            bytes.writeImmutableBuffer(piece)
        }
        return StreamResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Streams for `agent` with the defaults of a frontend.
    func stream(agent: String, extra: String = "") async throws -> StreamResult {
        try await self.stream(#"{"input_text": "Hello", "agent_id": "\#(agent)"\#(extra)}"#)
    }

    func request(
        _ body: String,
        method: HTTPMethod = .POST,
        path: String = "/api/agent/stream",
        headers: [(String, String)] = [("Content-Type", "application/json")]
    ) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(string: body))
        return request
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> StreamResult {
        var request = HTTPClientRequest(url: self.baseURL + path)
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return StreamResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }
}

/// A response of the service: for streams, its lines parsed.
struct StreamResult: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    /// The body's lines, parsed; a line that is not JSON fails the test that asked (and reads as
    /// `{"type": "<malformed line>"}`), not the whole run.
    var lines: [JSONValue] {
        self.body.split(separator: "\n").map { line in
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
                Issue.record("a line of the stream is not JSON: \(line)")
                return .object(["type": .string("<malformed line>")])
            }
            return value
        }
    }

    var types: [String] { self.lines.map { $0["type"]?.stringValue ?? "?" } }
    var last: JSONValue? { self.lines.last }
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(self.body.utf8)) }

    /// The contract every stream keeps: one `start` first, exactly one terminal line last, `done`
    /// true only there, and a millisecond UTC timestamp on every line.
    func checkInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = self.lines
        #expect(lines.first?["type"] == .string("start"), sourceLocation: sourceLocation)
        #expect(lines.filter { $0["type"] == .string("start") }.count == 1, sourceLocation: sourceLocation)
        let terminal = lines.filter { $0["type"] == .string("completion") || $0["type"] == .string("error") }
        #expect(terminal.count == 1, "one terminal line: \(self.types)", sourceLocation: sourceLocation)
        #expect(["completion", "error"].contains(lines.last?["type"]?.stringValue ?? ""), sourceLocation: sourceLocation)
        for (index, line) in lines.enumerated() {
            #expect(line["done"] == .bool(index == lines.count - 1), "done on line \(index)", sourceLocation: sourceLocation)
            let timestamp = line["timestamp"]?.stringValue ?? ""
            #expect(
                timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil,
                "timestamp \(timestamp)",
                sourceLocation: sourceLocation
            )
        }
    }
}

/// Runs `body` against a service (port 0) wired to an in-process MockBedrock with test
/// credentials. `environment` adds to or overrides the service's variables; `{MOCK}` in a value
/// stands for the mock's base URL.
func withService<T: Sendable>(
    environment: [String: String] = [:],
    _ body: @Sendable (TestService) async throws -> T
) async throws -> T {
    let mockServer = MockBedrockServer(
        configuration: MockBedrockConfiguration(port: 0, fixtures: fixturesFolder, credentials: mockCredentials),
        fixtures: try sharedFixtures.get(),
        logger: Logger(label: "MockBedrock", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return try await mockServer.withRunningServer { mockPort in
        var variables = [
            "HOST": "127.0.0.1", "PORT": "0",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(mockPort)", "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": mockCredentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": mockCredentials.secretAccessKey,
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
        for (name, value) in environment {
            variables[name] = value.replacingOccurrences(of: "{MOCK}", with: "http://127.0.0.1:\(mockPort)")
        }
        for name in variables.keys where variables[name] == "" {
            variables[name] = nil
        }
        let configuration = try ServiceConfiguration(environment: variables, homeDirectory: "/nonexistent")
        let logLines = Shared<[String]>([])
        let logger = Logger(label: "app") { label in
            var handler = PythonLoggingFormatHandler(label: label, format: configuration.logFormat, level: .info) { line in
                logLines.withLock { $0.append(line) }
            }
            handler.logLevel = .info
            return handler
        }
        let clients = AWSHTTPClients(configuration: configuration)
        let service: ServiceApplication
        do {
            service = try ServiceApplication(configuration: configuration, clients: clients, logger: logger)
        } catch {
            try await clients.shutdown()
            throw error
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = service.serviceGroup(gracefulShutdownSignals: []) { continuation.yield($0) }
        let failure = Shared<String?>(nil)
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                // A service that fails to start ends the wait for its port instead of hanging.
                continuation.finish()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                return .failure(TestServiceDidNotStart(reason: failure.value ?? "its service group ended"))
            }
            let running = TestService(port: port, mock: mockServer.state, mockPort: mockPort, logLines: logLines, service: service, group: group)
            let result: Result<T, any Error>
            do {
                result = .success(try await body(running))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return result
        }
        try await clients.shutdown()
        return try result.get()
    }
}
