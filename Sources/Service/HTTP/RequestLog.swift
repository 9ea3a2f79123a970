import AgentRequest
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives each request its id (a sane incoming `X-Request-ID`, else a new UUID), logs
/// "Request started" and, once the response body is written, "Request completed" with the status
/// and duration, and counts the request by status. The first of ``ServiceMiddleware``'s policies;
/// both halves are synchronous, out of its async frame (ARCHITECTURE.md, "Async frames on the hot
/// path").
struct RequestLog: Sendable {
    typealias Context = ServiceRequestContext

    let metrics: ServiceMetrics

    /// `context` with the request's id, which its logger carries; logs "Request started".
    @inline(never)
    static func identified(_ request: Request, context: Context) -> Context {
        var context = context
        context.requestId = Self.acceptedRequestId(request.headers[.xRequestID]) ?? UUID.systemRandom().uuidString.lowercased()
        context.logger[metadataKey: "hb.request.id"] = nil
        context.logger[metadataKey: "request_id"] = .string(context.requestId)
        context.logger.info(
            "Request started",
            metadata: ["method": .string(request.method.rawValue), "url": .string(request.uri.path)]
        )
        return context
    }

    /// `response` with the request id header and a body that, once written, logs
    /// "Request completed" and counts the request.
    @inline(never)
    func logged(_ response: Response, context: Context, started: ContinuousClock.Instant) -> Response {
        var response = response
        response.headers[.xRequestID] = context.requestId
        let status = Int(response.status.code)
        let logger = context.logger
        let metrics = self.metrics
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer {
                metrics.countRequest(status: status)
                logger.info(
                    "Request completed",
                    metadata: ["status": .stringConvertible(status), "duration_ms": .stringConvertible(milliseconds(since: started))]
                )
            }
            try await body.write(writer)
        }
        return response
    }

    /// An incoming request id is kept when it is 1 to 128 characters of `[A-Za-z0-9._:-]`, so it
    /// cannot inject anything into logs or headers.
    static func acceptedRequestId(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.count),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-".contains($0)) })
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}

/// Whole milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Int {
    (ContinuousClock.now - start).wholeMilliseconds
}

extension Duration {
    /// The duration in whole milliseconds, rounded down: how logs report times.
    var wholeMilliseconds: Int { Int(self / .milliseconds(1)) }
}
