import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import Authentication
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// What checking a caller costs the service per stream: a bearer token verified for the first
/// time (RS256 with the issuer's cached JWKS, then the claims), the same token again (the
/// verifier remembers verified tokens until they expire), and an API key among many. Tokens and
/// keys come from the release MockBedrock's OIDC issuer, as a service would get them.
struct AuthBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "CPU per stream of a verified token (first sight and repeat) and of an API key."
    )

    @Option(help: "The folder of the MockBedrock binary.")
    var binaries = ".build/release"

    @Option(help: "Distinct tokens verified for the first-sight figure.")
    var tokens = 400

    @Option(help: "Repeats of one token (and of one API key) for the cached figures.")
    var repeats = 200_000

    func run() async throws {
        let port = 24_671
        let mock = Process()
        mock.executableURL = URL(fileURLWithPath: self.binaries + "/MockBedrock")
        mock.arguments = ["--port", String(port), "--fixtures", "Fixtures"]
        mock.standardOutput = FileHandle.nullDevice
        mock.standardError = FileHandle.nullDevice
        try mock.run()
        defer {
            mock.terminate()
            mock.waitUntilExit()
        }
        let issuer = "http://127.0.0.1:\(port)/oidc"
        try await Self.waitForIssuer(issuer)

        let settings = JWTSettings(issuer: issuer, audiences: ["mock-client"], forwardClaims: ["email"])
        let verifier = JWTVerifier.make(
            settings: settings,
            httpClient: HTTPClient.shared,
            logger: Logger(label: "benchmark", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        await verifier.keys.refresh()
        var tokens: [String] = []
        for index in 0..<self.tokens {
            tokens.append(try await Self.token(issuer: issuer, subject: "user-\(index)"))
        }
        print("Caller checks, one task, CPU time of the process per check (RS256, 2048-bit key, JWKS cached)")
        // Warm-up: the first verification makes jwt-kit's signer for the key.
        _ = try await verifier.principal(for: try await Self.token(issuer: issuer, subject: "warm-up"))

        let first = try await Self.cpuPerCall(tokens.count) { index in _ = try await verifier.principal(for: tokens[index]) }
        print(pad("bearer token, first sight (signature + claims)", 52) + String(format: "%9.2f µs", first * 1e6))
        // Two of its parts, done by the service around jwt-kit's verification: the header read
        // before it (algorithm, key id) and the claims read after it.
        let header = try await Self.cpuPerCall(self.repeats) { index in _ = try JWTVerifier.header(of: tokens[index % tokens.count]) }
        print(pad("  of which the header, read before jwt-kit", 52) + String(format: "%9.2f µs", header * 1e6))
        let claims = try await Self.cpuPerCall(self.repeats) { index in _ = try JWTVerifier.claims(of: tokens[index % tokens.count]) }
        print(pad("  of which the claims, read after jwt-kit", 52) + String(format: "%9.2f µs", claims * 1e6))
        let repeated = try await Self.cpuPerCall(self.repeats) { _ in _ = try await verifier.principal(for: tokens[0]) }
        print(pad("bearer token, repeated (remembered until exp)", 52) + String(format: "%9.2f µs", repeated * 1e6))

        let keys = (0..<100).map { "bas_benchmark-key-\($0)" }
        let file = APIKeyFile(
            entries: keys.enumerated().map { index, key in
                APIKeyFile.Entry(id: "key-\(index)", digest: Hashing.sha256(Array(key.utf8)), agents: nil)
            }
        )
        let key = keys[99]
        let apiKey = try await Self.cpuPerCall(self.repeats) { _ in
            guard file.entry(forKey: key) != nil else { throw ValidationError("the API key was not found") }
        }
        print(pad("API key among 100 (SHA-256, constant-time compares)", 52) + String(format: "%9.2f µs", apiKey * 1e6))
    }

    /// Process CPU seconds (user and system) per call of `body`, over `count` calls in a row.
    static func cpuPerCall(_ count: Int, _ body: (Int) async throws -> Void) async throws -> Double {
        let start = Self.processCPUSeconds()
        for index in 0..<count {
            try await body(index)
        }
        return (Self.processCPUSeconds() - start) / Double(count)
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func waitForIssuer(_ issuer: String) async throws {
        for _ in 0..<100 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: issuer + "/jwks.json"), timeout: .seconds(1)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("MockBedrock's issuer did not answer at \(issuer)")
    }

    static func token(issuer: String, subject: String) async throws -> String {
        var request = HTTPClientRequest(url: issuer + "/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials&sub=\(subject)&audience=mock-client&email=\(subject)%40example.com"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 65_536)
        guard let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
            let token = json["access_token"] as? String
        else {
            throw ValidationError("the issuer answered no token")
        }
        return token
    }
}
