import HTTPTypes
import Hummingbird

extension Router where Context == ServiceRequestContext {
    /// The methods a path of this service may be asked with; every one a path does not serve is
    /// answered 405 with `Allow`, not 404 (RFC 9110, section 15.5.6).
    /// QUERY (the safe method with a body, draft-ietf-httpbis-safe-method-w-body) included.
    static var knownMethods: [HTTPRequest.Method] { [.get, .head, .post, .put, .delete, .patch, .options, .trace, Self.query] }

    static let query = HTTPRequest.Method("QUERY")!

    /// Answers the methods `path` does not serve with 405 and `Allow`. HEAD counts as served with
    /// GET: the router answers it from the GET handler.
    func refuseOtherMethods(on path: RouterPath, serving served: [HTTPRequest.Method]) {
        let allowed = served.contains(.get) && !served.contains(.head) ? served + [.head] : served
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in Self.knownMethods where !allowed.contains(method) {
            self.on(path, method: method) { _, _ -> Response in
                throw APIError.methodNotAllowed(allowed: allow)
            }
        }
    }
}
