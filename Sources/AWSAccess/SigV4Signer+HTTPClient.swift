import AsyncHTTPClient
import NIOCore
import NIOHTTP1

import struct Foundation.Date
import struct Foundation.URL

extension SigV4Signer {
    /// Signs an AsyncHTTPClient request and sets its body.
    ///
    /// The path and query are signed as AsyncHTTPClient sends them (percent-encoded as in
    /// `request.url`), a `Host` header is set from the URL when absent, and the body is set from
    /// `body` so that what is signed is what is sent.
    /// - Parameters:
    ///   - request: The request, its `url`, `method` and headers final.
    ///   - body: The whole body; empty for none.
    ///   - credentials: The credentials to sign with; the request keeps them even if they are
    ///     refreshed meanwhile.
    ///   - date: The signing time.
    /// - Throws: ``AWSAccessError/invalidRequest`` when the URL has no host.
    @discardableResult
    public func sign(
        _ request: inout HTTPClientRequest,
        body: ByteBuffer,
        credentials: AWSCredentials,
        date: Date = Date()
    ) throws -> SigV4Signature {
        guard let url = URL(string: request.url), let host = url.host, !host.isEmpty else {
            let target = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            throw AWSAccessError.invalidRequest("cannot sign a request to '\(target)': not an absolute URL with a host")
        }
        if !request.headers.contains(name: "host") {
            let defaultPort = url.scheme?.lowercased() == "https" ? 443 : 80
            let hostName = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
            request.headers.add(name: "Host", value: url.port.map { $0 == defaultPort ? hostName : "\(hostName):\($0)" } ?? hostName)
        }
        let path = url.path(percentEncoded: true)
        var signable = SigV4Request(
            method: request.method.rawValue,
            path: path.isEmpty ? "/" : path,
            query: url.query,
            headers: request.headers,
            payloadHash: Self.payloadHash(of: body.readableBytesView)
        )
        let signature = self.sign(&signable, credentials: credentials, date: date)
        request.headers = signable.headers
        request.body = body.readableBytes > 0 ? .bytes(body) : nil
        return signature
    }
}
