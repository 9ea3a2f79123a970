import AWSAccess
import AsyncHTTPClient
import BedrockAgentRuntime
import EventStream
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TestSupport
import Testing

@testable import MockBedrock

/// The repository's `Fixtures` folder.
let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fixtures").standardized

/// The repository's fixtures, loaded once for every test's mock.
let sharedFixtures = Result { try FixtureStore.load(from: fixturesFolder) }

/// The mock's own log lines would drown the test output.
let quietLogger = Logger(label: "MockBedrock", factory: { _ in SwiftLogNoOpLogHandler() })

/// The test credentials the mock is started with when a test verifies signatures.
let testCredentials = AWSCredentials(accessKeyID: "AKIDMOCKTEST", secretAccessKey: "mock/secret/key/for/tests")

/// Runs `body` against a MockBedrock of its own, serving the repository's fixtures on a free port.
func withMock<T: Sendable>(
    credentials: AWSCredentials? = testCredentials,
    containerToken: String? = nil,
    fixtures: URL = fixturesFolder,
    _ body: @Sendable (MockClient) async throws -> T
) async throws -> T {
    let configuration = MockBedrockConfiguration(
        port: 0,
        fixtures: fixtures,
        credentials: credentials,
        issuedCredentialLifetime: .seconds(900),
        containerAuthorizationToken: containerToken
    )
    let server = MockBedrockServer(configuration: configuration, fixtures: try sharedFixtures.get(), logger: quietLogger)
    return try await server.withRunningServer { port in
        try await body(MockClient(port: port, state: server.state))
    }
}

/// What an InvokeAgent call returned: an HTTP error, or a stream and how it ended.
struct InvokeResult: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var messages: [EventStreamMessage]
    /// The raw body (the error document, or the stream's bytes).
    var body: ByteBuffer
    /// Set when the stream broke: the decoder's error or the connection's.
    var streamError: (any Error)?

    var errorType: String? { self.headers.first(name: "x-amzn-ErrorType") }
    var errorMessage: String? {
        try? JSONDecoder().decode(InvokeAgentEvent.ExceptionMessage.self, from: Data(buffer: self.body)).message
    }

    /// The chunk texts, decoded from base64; a chunk that does not decode fails the test that asked
    /// (and reads as `<malformed chunk>`), not the whole run.
    var chunkTexts: [String] {
        self.messages.filter { $0.eventType == "chunk" }.map { message in
            guard let chunk = try? JSONDecoder().decode(InvokeAgentEvent.Chunk.self, from: Data(buffer: message.payload)),
                let bytes = Data(base64Encoded: chunk.bytes ?? "")
            else {
                Issue.record("a chunk payload is not {\"bytes\": base64}: \(String(buffer: message.payload))")
                return "<malformed chunk>"
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    var eventTypes: [String] {
        self.messages.map { $0.eventType ?? $0.exceptionType ?? $0.errorCode ?? "?" }
    }
}

/// A client of one running mock.
struct MockClient: Sendable {
    let port: Int
    let state: MockState

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// Calls InvokeAgent, signed with `credentials` (unsigned when `nil`), and reads the whole answer.
    func invoke(
        agent: String,
        alias: String = "TSTALIASID",
        session: String = "test-session",
        _ input: InvokeAgentRequest = InvokeAgentRequest(inputText: "Hi", streamingConfigurations: .init(streamFinalResponse: true)),
        credentials: AWSCredentials? = testCredentials,
        region: String = "us-east-1",
        date: Date = Date(),
        rawPath: String? = nil
    ) async throws -> InvokeResult {
        try await self.read(
            self.request(
                agent: agent,
                alias: alias,
                session: session,
                input,
                credentials: credentials,
                region: region,
                date: date,
                rawPath: rawPath
            )
        )
    }

    /// A signed InvokeAgent request (unsigned when `credentials` is `nil`).
    func request(
        agent: String,
        alias: String = "TSTALIASID",
        session: String = "test-session",
        _ input: InvokeAgentRequest = InvokeAgentRequest(inputText: "Hi", streamingConfigurations: .init(streamFinalResponse: true)),
        credentials: AWSCredentials? = testCredentials,
        region: String = "us-east-1",
        date: Date = Date(),
        rawPath: String? = nil
    ) throws -> HTTPClientRequest {
        let path = rawPath ?? InvokeAgentTarget(agentId: agent, agentAliasId: alias, sessionId: session).path
        let body = ByteBuffer(bytes: try JSONEncoder().encode(input))
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let credentials {
            try SigV4Signer(service: "bedrock", region: region).sign(&request, body: body, credentials: credentials, date: date)
        } else {
            request.body = .bytes(body)
        }
        return request
    }

    func read(_ request: HTTPClientRequest) async throws -> InvokeResult {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var result = InvokeResult(status: Int(response.status.code), headers: response.headers, messages: [], body: ByteBuffer())
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        do {
            for try await piece in response.body {
                result.body.writeImmutableBuffer(piece)
                if result.status == 200 {
                    try processor.process(buffer: piece) { result.messages.append($0) }
                }
            }
            if result.status == 200 {
                try processor.finishProcessing(seenEOF: true) { result.messages.append($0) }
            }
        } catch {
            result.streamError = error
        }
        return result
    }

    func get(_ path: String, headers: HTTPHeaders = [:]) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.headers = headers
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), String(buffer: body))
    }

    /// An STS query-protocol call, signed for `sts` when `credentials` are given.
    func sts(_ form: String, credentials: AWSCredentials?) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: self.baseURL + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        let body = ByteBuffer(string: form)
        if let credentials {
            try SigV4Signer(service: "sts", region: "us-east-1").sign(&request, body: body, credentials: credentials)
        } else {
            request.body = .bytes(body)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1024 * 1024)))
    }
}

/// The text between `<name>` and `</name>` in an XML document.
func xmlValue(_ name: String, in xml: String) -> String? {
    guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else {
        return nil
    }
    return String(xml[start.upperBound..<end.lowerBound])
}
