import AWSAccess
import BrowserClient
import ExtrasBase64
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The browser client library at a stable URL (`GET /client/agent-stream.js`, and its types at
/// `/client/agent-stream.d.ts`) and the chat playground (`GET /playground`, unless
/// `PLAYGROUND_ENABLED=false`), from the files of `Sources/BrowserClient` compiled into the binary.
///
/// Each body is made once, at start. Responses carry an `ETag` and answer `If-None-Match` with 304;
/// `Cache-Control: no-cache` makes browsers ask again, so a new version is taken at once. The
/// playground's `Content-Security-Policy` lets only its own inline script and style (by their
/// SHA-256) and this service's scripts run, and lets it connect to this service only.
struct BrowserRoutes: Sendable {
    /// A body with the headers it is served with.
    struct Asset: Sendable {
        var body: ByteBuffer
        var headers: HTTPFields
        var etag: String

        init(_ bytes: [UInt8], contentType: String, extraHeaders: HTTPFields = [:]) {
            self.body = ByteBuffer(bytes: bytes)
            self.etag = "\"" + Hashing.hex(Array(Hashing.sha256(bytes).prefix(16))) + "\""
            var headers: HTTPFields = [
                .contentType: contentType, .cacheControl: "no-cache", .eTag: self.etag,
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ]
            headers.append(contentsOf: extraHeaders)
            self.headers = headers
        }

        /// The asset, or 304 when the client holds this version.
        func response(to request: Request) -> Response {
            if let held = request.headers[.ifNoneMatch],
                held.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == self.etag })
            {
                return Response(status: .notModified, headers: [.eTag: self.etag, .cacheControl: "no-cache"])
            }
            return Response(status: .ok, headers: self.headers, body: ResponseBody(byteBuffer: self.body))
        }
    }

    let library: Asset
    let typeDeclarations: Asset
    /// `nil` when the playground is off.
    let playground: Asset?

    init(configuration: ServiceConfiguration) {
        self.library = Asset(BrowserClient.library, contentType: "text/javascript; charset=utf-8")
        self.typeDeclarations = Asset(BrowserClient.typeDeclarations, contentType: "application/typescript; charset=utf-8")
        self.playground = configuration.playgroundEnabled ? Self.playground(configuration: configuration) : nil
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/client/agent-stream.js") { request, _ in self.library.response(to: request) }
        router.get("/client/agent-stream.d.ts") { request, _ in self.typeDeclarations.response(to: request) }
        router.refuseOtherMethods(on: "/client/agent-stream.js", serving: [.get])
        router.refuseOtherMethods(on: "/client/agent-stream.d.ts", serving: [.get])
        if let playground = self.playground {
            router.get("/playground") { request, _ in playground.response(to: request) }
            router.refuseOtherMethods(on: "/playground", serving: [.get])
        }
    }

    /// The page with its settings filled in, and the policy that lets exactly its own code run.
    static func playground(configuration: ServiceConfiguration) -> Asset {
        let values = [
            "AUTH_MODE": configuration.auth.modeName,
            "DEFAULT_AGENT_ID": configuration.defaultAgentId ?? "",
            "DEFAULT_AGENT_ALIAS_ID": configuration.defaultAgentAliasId,
        ]
        var page = String(decoding: BrowserClient.playgroundTemplate, as: UTF8.self)
        for (name, value) in values {
            page = page.replacingOccurrences(of: "{{\(name)}}", with: Self.htmlEscaped(value))
        }
        let policy = [
            "default-src 'none'",
            "script-src 'self' " + Self.hashes(of: "script", in: page),
            "style-src " + Self.hashes(of: "style", in: page),
            "connect-src 'self'",
            "img-src 'self' data: blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
        return Asset(
            Array(page.utf8),
            contentType: "text/html; charset=utf-8",
            extraHeaders: [
                .contentSecurityPolicy: policy,
                HTTPField.Name("Referrer-Policy")!: "no-referrer",
                HTTPField.Name("X-Frame-Options")!: "DENY",
            ]
        )
    }

    /// The CSP sources (`'sha256-…'`) of every inline `<tag>` element's text in `page`.
    static func hashes(of tag: String, in page: String) -> String {
        var sources: [String] = []
        var rest = page[...]
        while let open = rest.range(of: "<\(tag)"), let end = rest[open.upperBound...].range(of: ">"),
            let close = rest[end.upperBound...].range(of: "</\(tag)>")
        {
            let text = Array(rest[end.upperBound..<close.lowerBound].utf8)
            sources.append("'sha256-" + Base64.encodeToString(bytes: Hashing.sha256(text)) + "'")
            rest = rest[close.upperBound...]
        }
        return sources.isEmpty ? "'none'" : sources.joined(separator: " ")
    }

    private static func htmlEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
