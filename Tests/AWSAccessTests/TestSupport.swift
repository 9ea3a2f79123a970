import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import AWSAccess

/// A tiny HTTP/1.1 server on 127.0.0.1 and an ephemeral port that answers with a closure and
/// records what it received: the stand-in for the ECS agent, IMDS and STS in tests.
final class TestHTTPServer: Sendable {
    /// A received request.
    struct Request: Sendable {
        let method: HTTPMethod
        let uri: String
        let headers: HTTPHeaders
        let body: String
        /// When the request was complete.
        let received: Date

        /// The path without the query.
        var path: String { String(self.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }

        /// The body's form fields (`application/x-www-form-urlencoded`), decoded.
        var formFields: [String: String] {
            var fields: [String: String] = [:]
            for pair in self.body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                fields[parts[0].removingPercentEncoding ?? ""] = parts.count > 1 ? parts[1].removingPercentEncoding ?? "" : ""
            }
            return fields
        }
    }

    /// An answer.
    struct Response: Sendable {
        var status: HTTPResponseStatus = .ok
        var contentType = "text/plain"
        var body = ""

        static func json(_ body: String, status: HTTPResponseStatus = .ok) -> Response {
            Response(status: status, contentType: "application/json", body: body)
        }

        static func xml(_ body: String, status: HTTPResponseStatus = .ok) -> Response {
            Response(status: status, contentType: "text/xml", body: body)
        }

        static func text(_ body: String, status: HTTPResponseStatus = .ok) -> Response {
            Response(status: status, body: body)
        }
    }

    /// Answers a request; `nil` leaves it unanswered (to test timeouts).
    typealias Handler = @Sendable (Request) async -> Response?

    private final class RequestLog: Sendable {
        let requests = Mutex<[Request]>([])
    }

    /// The port the server listens on.
    let port: Int
    private let log: RequestLog
    private let serving: Task<Void, Never>

    /// `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// The requests received so far, in order.
    var requests: [Request] { self.log.requests.withLock { $0 } }

    /// Runs `body` with a server that answers with `handler`, and stops the server afterwards.
    static func withServer<T>(_ handler: @escaping Handler, _ body: (TestHTTPServer) async throws -> T) async throws -> T {
        let server = try await TestHTTPServer(handler: handler)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    private init(handler: @escaping Handler) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let log = RequestLog()
        self.port = server.channel.localAddress!.port!
        self.log = log
        self.serving = Task {
            try? await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await Self.serve(connection, handler: handler, log: log) }
                    }
                }
            }
        }
    }

    private func stop() async {
        self.serving.cancel()
        await self.serving.value
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        handler: Handler,
        log: RequestLog
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { continue }
                    let request = Request(method: head.method, uri: head.uri, headers: head.headers, body: String(buffer: body), received: Date())
                    log.requests.withLock { $0.append(request) }
                    guard let response = await handler(request) else {
                        try await Task.sleep(for: .seconds(60))
                        return
                    }
                    let headers: HTTPHeaders = [
                        "Content-Type": response.contentType, "Content-Length": String(response.body.utf8.count),
                    ]
                    try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

/// Runs `body` with an HTTP client of its own, shut down afterwards.
func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs `body` with a new empty directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aws-access-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Writes a text file, creating its folder.
func writeFile(_ path: String, _ contents: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent,
        withIntermediateDirectories: true
    )
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
}

/// A logger that discards everything, so tests need no logging bootstrap.
let quietLogger = Logger(label: "AWSAccessTests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Example credentials; none is real.
enum TestKeys {
    static let accessKeyID = "ASIATESTEXAMPLE00001"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1"
    static let sessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN+secret/value=="

    /// A credentials document as the container endpoint and IMDS serve it.
    static func document(expiration: String = "2099-01-01T00:00:00Z", accessKeyID: String = accessKeyID) -> String {
        """
        {"AccessKeyId":"\(accessKeyID)","SecretAccessKey":"\(secretAccessKey)","Token":"\(sessionToken)","Expiration":"\(expiration)","RoleArn":"arn:aws:iam::123456789012:role/task"}
        """
    }

    /// Whether a text leaks one of the secrets.
    static func leaksSecret(_ text: String) -> Bool {
        text.contains(secretAccessKey) || text.contains(sessionToken)
    }
}

extension TestHTTPServer.Request {
    /// The request as a SigV4 verifier sees it.
    var sigV4Request: SigV4Request {
        let parts = self.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return SigV4Request(
            method: self.method.rawValue,
            path: String(parts[0]),
            query: parts.count > 1 ? String(parts[1]) : nil,
            headers: self.headers,
            payloadHash: SigV4Signer.payloadHash(of: Array(self.body.utf8))
        )
    }
}

/// STS answers as STS writes them.
enum STSDocuments {
    static func callerIdentity(account: String = "123456789012") -> String {
        """
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetCallerIdentityResult>
            <Arn>arn:aws:sts::\(account):assumed-role/task-role/session</Arn>
            <UserId>AROAEXAMPLEID:session</UserId>
            <Account>\(account)</Account>
          </GetCallerIdentityResult>
          <ResponseMetadata><RequestId>0b1c2d3e-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
        </GetCallerIdentityResponse>
        """
    }

    static func assumedRole(accessKeyID: String = TestKeys.accessKeyID, expiration: String = "2099-01-01T00:00:00Z") -> String {
        """
        <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleWithWebIdentityResult>
            <SubjectFromWebIdentityToken>system:serviceaccount:agents:streamer</SubjectFromWebIdentityToken>
            <AssumedRoleUser>
              <Arn>arn:aws:sts::123456789012:assumed-role/web-role/streamer</Arn>
              <AssumedRoleId>AROAEXAMPLEID:streamer</AssumedRoleId>
            </AssumedRoleUser>
            <Credentials>
              <SessionToken>\(TestKeys.sessionToken)</SessionToken>
              <SecretAccessKey>\(TestKeys.secretAccessKey)</SecretAccessKey>
              <Expiration>\(expiration)</Expiration>
              <AccessKeyId>\(accessKeyID)</AccessKeyId>
            </Credentials>
            <Audience>sts.amazonaws.com</Audience>
          </AssumeRoleWithWebIdentityResult>
          <ResponseMetadata><RequestId>0b1c2d3e-0000-4000-8000-000000000002</RequestId></ResponseMetadata>
        </AssumeRoleWithWebIdentityResponse>
        """
    }

    static func error(code: String, message: String) -> String {
        """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>
          <RequestId>0b1c2d3e-0000-4000-8000-000000000003</RequestId>
        </ErrorResponse>
        """
    }
}

/// A thread-safe counter for test servers.
final class Counter: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new value.
    func increment() -> Int {
        self.value.withLock { value in
            value += 1
            return value
        }
    }
}
