import Hummingbird

/// The policies every request goes through, in one middleware: ``RequestLog`` (its id, "Request
/// started" and "Request completed"), then ``CORSPolicy`` (`ALLOWED_ORIGINS`), then
/// ``ThrownErrorResponse`` (whatever is thrown, as the API's JSON error, inside the CORS policy so
/// that browsers can read errors too).
///
/// One middleware rather than one per policy: each middleware is an async frame, with
/// Hummingbird's responder around it, that stays on the connection's task while the request is
/// handled, and the task keeps the allocator slabs of its deepest frames for as long as the
/// connection lives (ARCHITECTURE.md, "Async frames on the hot path"). The policies' work is
/// synchronous, each part testable alone.
struct ServiceMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let log: RequestLog
    let cors: CORSPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = self.begin(request, context: context)
        if case .preflight = started.cors {
            return self.finish(.success(self.cors.preflightResponse(request)), started)
        }
        let result: Result<Response, any Error>
        do {
            result = .success(try await next(request, started.context))
        } catch {
            result = .failure(error)
        }
        return self.finish(result, started)
    }

    // The work before and after `next` is done out of `handle`'s async frame, so that the frame
    // keeps one context and one response.

    /// A request the policies have seen.
    struct Started {
        let context: Context
        let cors: CORSPolicy.Decision
        let time: ContinuousClock.Instant
    }

    @inline(never)
    private func begin(_ request: Request, context: Context) -> Started {
        let time = ContinuousClock.now
        return Started(context: RequestLog.identified(request, context: context), cors: self.cors.decision(for: request), time: time)
    }

    @inline(never)
    private func finish(_ result: Result<Response, any Error>, _ started: Started) -> Response {
        let response: Response
        switch result {
        case .success(let handled): response = handled
        case .failure(let error): response = ThrownErrorResponse.response(to: error, context: started.context)
        }
        return self.log.logged(started.cors.applied(to: response), context: started.context, started: started.time)
    }
}
