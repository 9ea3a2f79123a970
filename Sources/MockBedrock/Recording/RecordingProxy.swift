import AWSAccess
import AsyncHTTPClient
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `MockBedrock record`'s server: InvokeAgent and InvokeAgentRuntime, on the paths the mock
/// serves, forwarded to the upstream signed again with the recorder's own credentials (the
/// client's signature is neither trusted nor needed), the answer streamed back as it arrives and
/// then saved by ``RecordingWriter``.
struct RecordingProxy: Sendable {
    /// Where each operation is forwarded: base URLs without a trailing slash.
    let invokeAgentUpstream: String
    let agentCoreUpstream: String
    let region: String
    let credentials: any CredentialProvider
    let writer: RecordingWriter
    let httpClient: HTTPClient
    let logger: Logger

    /// The largest request body forwarded, as the mock takes.
    static let maximumBodyBytes = 32 * 1024 * 1024
    /// The largest error body kept.
    static let maximumErrorBytes = 1024 * 1024

    func register(on router: Router<MockRequestContext>) {
        router.post("/agents/:agentId/agentAliases/:agentAliasId/sessions/:sessionId/text") { request, context in
            try await self.forward(request, context: context, operation: .invokeAgent)
        }
        router.post("/runtimes/:agentRuntimeArn/invocations") { request, context in
            try await self.forward(request, context: context, operation: .invokeAgentRuntime)
        }
    }

    private func forward(_ request: Request, context: MockRequestContext, operation: RecordingWriter.Operation) async throws -> Response {
        let requestId = UUID().uuidString.lowercased()
        do {
            return try await self.relay(request, context: context, operation: operation)
        } catch let error as AWSErrorResponse {
            self.logger.warning("\(operation.rawValue) not forwarded", metadata: ["type": "\(error.type)", "message": "\(error.message)"])
            return error.response(requestId: requestId)
        }
    }

    private func relay(_ request: Request, context: MockRequestContext, operation: RecordingWriter.Operation) async throws -> Response {
        let body = try await RESTJSONOperation.body(of: request, upTo: Self.maximumBodyBytes)
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
        let name: String
        var sessions: [String] = []
        let input: String?
        switch operation {
        case .invokeAgent:
            let agentId = context.parameters.get("agentId")?.removingPercentEncoding ?? ""
            if let problem = BedrockIdentifier.agentId.violation(in: agentId) {
                throw AWSErrorResponse(BedrockException.validation, "1 validation error detected: \(problem)")
            }
            name = agentId
            if let session = context.parameters.get("sessionId")?.removingPercentEncoding { sessions.append(session) }
            input = json?["inputText"]?.stringValue
        case .invokeAgentRuntime:
            let arn = context.parameters.get("agentRuntimeArn")?.removingPercentEncoding ?? ""
            if let problem = AgentCoreIdentifier.runtimeArn.violation(in: arn) {
                throw AWSErrorResponse(AgentCoreException.validation, "1 validation error detected: \(problem)")
            }
            name = InvokeAgentRuntimeRoute.runtimeName(of: arn)
            if let session = request.headers[HTTPField.Name(AgentRuntimeTarget.sessionHeader)!] { sessions.append(session) }
            input = json.map(Recording.input(ofPayload:))
        }
        let path = request.uri.query.map { request.uri.path + "?" + $0 } ?? request.uri.path
        let upstream = try await self.send(request, path: path, body: body, operation: operation)
        let started = NIODeadline.now()
        var responseHeaders = HTTPFields()
        var recordedHeaders: [String: String] = [:]
        for header in upstream.headers {
            let lower = header.name.lowercased()
            guard !["connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"].contains(lower),
                let name = HTTPField.Name(header.name)
            else { continue }
            responseHeaders.append(HTTPField(name: name, value: header.value))
            if lower == "content-type" || lower == "x-amzn-errortype" || lower.hasPrefix("x-amz-bedrock-") || lower.hasPrefix("x-amzn-bedrock-") {
                recordedHeaders[lower] = header.value
            }
        }
        var capture = RecordingWriter.Capture(
            operation: operation,
            name: name,
            request: .init(path: path, body: json),
            input: input,
            sessions: sessions,
            status: Int(upstream.status.code),
            headers: recordedHeaders,
            reads: [],
            ending: .finished
        )
        guard upstream.status == .ok else {
            let errorBody = (try? await upstream.body.collect(upTo: Self.maximumErrorBytes)) ?? ByteBuffer()
            capture.reads = [(Self.milliseconds(since: started), errorBody)]
            await self.save(capture)
            return Response(
                status: HTTPResponse.Status(code: Int(upstream.status.code)),
                headers: responseHeaders,
                body: ResponseBody(byteBuffer: errorBody)
            )
        }
        let logger = self.logger
        let head = capture
        return Response(
            status: .ok,
            headers: responseHeaders,
            body: ResponseBody { writer in
                var capture = head
                var clientLeft = false
                do {
                    for try await piece in upstream.body {
                        capture.reads.append((Self.milliseconds(since: started), piece))
                        do {
                            try await writer.write(piece)
                        } catch {
                            clientLeft = true
                            throw error
                        }
                    }
                } catch {
                    if clientLeft || error is CancellationError {
                        logger.warning("Not recorded: the client left before the answer ended", metadata: ["agent": "\(name)"])
                        throw error
                    }
                    // The upstream's connection broke mid-body: recorded so, and broken for the client too.
                    capture.ending = .dropped
                }
                await self.save(capture)
                if capture.ending == .dropped { throw ScriptedResponse.ScriptedFault.connectionDropped }
                try await writer.finish(nil)
            }
        )
    }

    /// The request, signed for the operation's service with the recorder's credentials.
    private func send(_ request: Request, path: String, body: ByteBuffer, operation: RecordingWriter.Operation) async throws -> HTTPClientResponse {
        let base = operation == .invokeAgent ? self.invokeAgentUpstream : self.agentCoreUpstream
        var outgoing = HTTPClientRequest(url: base + path)
        outgoing.method = .POST
        for field in request.headers {
            let lower = field.name.canonicalName
            if ["content-type", "accept", "traceparent", "tracestate", "baggage"].contains(lower) || lower.hasPrefix("x-amzn-bedrock-") {
                outgoing.headers.add(name: field.name.rawName, value: field.value)
            }
        }
        outgoing.headers.add(name: "User-Agent", value: "MockBedrock-record")
        let credentials: AWSCredentials
        do {
            credentials = try await self.credentials.credentials()
        } catch {
            throw AWSErrorResponse(status: 500, type: "CredentialsUnavailable", message: "The recorder has no AWS credentials: \(error)")
        }
        do {
            let service = operation == .invokeAgent ? "bedrock" : "bedrock-agentcore"
            try SigV4Signer(service: service, region: self.region).sign(&outgoing, body: body, credentials: credentials)
            return try await self.httpClient.execute(outgoing, timeout: .minutes(15))
        } catch {
            throw AWSErrorResponse(status: 502, type: "UpstreamUnavailable", message: "The upstream \(base) could not be reached: \(error)")
        }
    }

    private func save(_ capture: RecordingWriter.Capture) async {
        do {
            let saved = try await self.writer.save(capture)
            FileHandle.standardOutput.write(Data("recorded \(capture.operation.rawValue) \(saved.summary)\n".utf8))
        } catch {
            self.logger.error("Not recorded", metadata: ["agent": "\(capture.name)", "reason": "\(error)"])
        }
    }

    private static func milliseconds(since start: NIODeadline) -> Int {
        Int((NIODeadline.now() - start).nanoseconds / 1_000_000)
    }
}
