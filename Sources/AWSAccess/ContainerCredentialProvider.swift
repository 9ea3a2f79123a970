import AsyncHTTPClient
import Foundation
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary credentials from the container credentials endpoint: the ECS task role on Fargate and
/// EC2 (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, served at `169.254.170.2`), and EKS Pod Identity
/// or another local agent (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`).
///
/// A full URI over plain http must name a host the SDKs allow, so a setting cannot send the
/// authorization token anywhere else: a loopback address (127.0.0.0/8, `::1`, `localhost`), the
/// ECS address `169.254.170.2` or the EKS addresses `169.254.170.23` and `fd00:ec2::23`. Over
/// https any host is allowed.
public struct ContainerCredentialProvider: CredentialProvider {
    /// Settings of the provider.
    public struct Configuration: Sendable {
        /// What `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is relative to: the ECS agent's address in
        /// production; a local server in tests.
        public var relativeURIBase: String
        /// The most one fetch may take; the endpoint is local, so it answers fast or not at all.
        public var timeout: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - relativeURIBase: The base of a relative URI.
        ///   - timeout: The most one fetch may take.
        public init(relativeURIBase: String = "http://169.254.170.2", timeout: Duration = .seconds(2)) {
            self.relativeURIBase = relativeURIBase
            self.timeout = timeout
        }
    }

    /// Where the authorization header's value comes from.
    private enum Authorization {
        case none
        case token(String)
        case tokenFile(String)
    }

    /// Hosts that plain http may reach besides loopback addresses.
    private static let allowedHTTPHosts = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    /// The endpoint's scheme, host and port (the path can identify the task and is left out).
    public let source: CredentialSource
    private let url: String
    private let authorization: Authorization
    private let httpClient: HTTPClient
    private let configuration: Configuration

    /// Reads the settings.
    /// - Parameters:
    ///   - environment: Where the settings are read.
    ///   - httpClient: The HTTP client to fetch with.
    ///   - configuration: The relative URI's base and the timeout.
    /// - Returns: `nil` when neither URI variable is set.
    /// - Throws: ``AWSAccessError/invalidEndpoint`` when the URI is not a URL or names a host that
    ///   is not allowed.
    public init?(environment: AWSEnvironment, httpClient: HTTPClient, configuration: Configuration = .init()) throws {
        let variable: String
        let uri: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            variable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
            uri = configuration.relativeURIBase + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            variable = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
            uri = full
        } else {
            return nil
        }
        guard let url = URL(string: uri), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw AWSAccessError.invalidEndpoint("container credentials: \(variable) does not make an absolute URL")
        }
        guard scheme == "https" || (scheme == "http" && Self.isAllowedHTTPHost(host)) else {
            throw AWSAccessError.invalidEndpoint(
                "container credentials: \(variable) names host '\(host)' over \(scheme); plain http may only reach a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23"
            )
        }
        let hostName = host.contains(":") ? "[\(host)]" : host
        self.source = .container(endpoint: "\(scheme)://\(hostName)" + (url.port.map { ":\($0)" } ?? ""))
        self.url = uri
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            self.authorization = .tokenFile(environment.expandingHome(file))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            self.authorization = .token(token)
        } else {
            self.authorization = .none
        }
        self.httpClient = httpClient
        self.configuration = configuration
    }

    /// Fetches the credentials document, with the authorization token when one is configured.
    public func credentials() async throws -> AWSCredentials {
        var request = HTTPClientRequest(url: self.url)
        request.headers.add(name: "Accept", value: "application/json")
        if let token = try self.authorizationToken() {
            request.headers.add(name: "Authorization", value: token)
        }
        let response = try await self.httpClient.collect(request, timeout: self.configuration.timeout, source: "\(self.source)")
        guard response.status == .ok else {
            throw AWSAccessError.unexpectedStatus("\(self.source): answered HTTP \(response.status.code)")
        }
        return try CredentialsDocument.credentials(from: response.body, source: self.source)
    }

    /// The authorization header's value; a token file is read at every fetch, since it rotates.
    private func authorizationToken() throws -> String? {
        let token: String
        let origin: String
        switch self.authorization {
        case .none:
            return nil
        case .token(let value):
            token = value
            origin = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        case .tokenFile(let path):
            origin = "the token file \(path) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)"
            do {
                token = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).trimmingASCIIWhitespace()
            } catch {
                throw AWSAccessError.unreadableFile("\(self.source): cannot read \(origin)")
            }
        }
        guard !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            throw AWSAccessError.incompleteConfiguration("\(self.source): the authorization token from \(origin) is empty or spans lines")
        }
        return token
    }

    private static func isAllowedHTTPHost(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        if let ipv4 = Self.ipv4Address(host) {
            return ipv4[0] == 127 || Self.allowedHTTPHosts.compactMap(Self.ipv4Address).contains(ipv4)
        }
        if let ipv6 = Self.ipv6Address(host) {
            return ipv6 == Self.ipv6Address("::1") || Self.allowedHTTPHosts.compactMap(Self.ipv6Address).contains(ipv6)
        }
        return false
    }

    private static func ipv4Address(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    private static func ipv6Address(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
