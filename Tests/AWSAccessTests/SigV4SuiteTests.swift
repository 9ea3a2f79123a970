import Foundation
import NIOHTTP1
import Testing

@testable import AWSAccess

/// Every case of aws-c-auth's SigV4 suite (`Resources/sigv4`), in header and query mode: the
/// canonical request, string to sign and signature must match byte for byte.
@Suite("SigV4 test suite (aws-c-auth v4)")
struct SigV4SuiteTests {
    static let caseNames: [String] = SigV4TestCase.allNames()

    @Test("the suite is complete")
    func suiteIsComplete() {
        #expect(Self.caseNames.count == 38)
    }

    @Test("header signing", arguments: caseNames)
    func headerSigning(name: String) throws {
        let testCase = try SigV4TestCase(name: name)
        var request = testCase.request
        let signature = testCase.signer.sign(&request, credentials: testCase.credentials, date: testCase.date)

        #expect(signature.canonicalRequest.description == (try testCase.expected("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try testCase.expected("header-string-to-sign.txt")))
        #expect(signature.signature == (try testCase.expected("header-signature.txt")))
        let signedRequest = try testCase.expected("header-signed-request.txt")
        let authorizationLine = try #require(signedRequest.split(separator: "\n").first { $0.hasPrefix("Authorization:") })
        #expect(request.headers.first(name: "authorization") == String(authorizationLine.dropFirst("Authorization:".count)))
    }

    @Test("query signing (presigned URLs)", arguments: caseNames)
    func querySigning(name: String) throws {
        let testCase = try SigV4TestCase(name: name)
        var request = testCase.request
        let signature = testCase.signer.presign(
            &request,
            credentials: testCase.credentials,
            date: testCase.date,
            expires: testCase.context.expirationInSeconds
        )

        #expect(signature.canonicalRequest.description == (try testCase.expected("query-canonical-request.txt")))
        #expect(signature.stringToSign == (try testCase.expected("query-string-to-sign.txt")))
        #expect(signature.signature == (try testCase.expected("query-signature.txt")))
        let query = try #require(request.query)
        #expect(query.split(separator: "&").contains("X-Amz-Signature=\(signature.signature)"))
    }
}

/// One case folder of the suite: its context, the parsed request and the expected files.
struct SigV4TestCase {
    struct Context: Decodable {
        struct Credentials: Decodable {
            let accessKeyID: String
            let secretAccessKey: String
            let token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyID = "access_key_id"
                case secretAccessKey = "secret_access_key"
                case token
            }
        }

        let credentials: Credentials
        let expirationInSeconds: Int
        let normalize: Bool
        let region: String
        let service: String
        let signBody: Bool
        let timestamp: String
        let omitSessionToken: Bool?

        enum CodingKeys: String, CodingKey {
            case credentials, normalize, region, service, timestamp
            case expirationInSeconds = "expiration_in_seconds"
            case signBody = "sign_body"
            case omitSessionToken = "omit_session_token"
        }
    }

    static var directory: URL {
        Bundle.module.url(forResource: "sigv4", withExtension: nil, subdirectory: "Resources")!
    }

    static func allNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory.path)) ?? []
        return entries.filter { !$0.hasSuffix(".md") }.sorted()
    }

    let name: String
    let context: Context
    let request: SigV4Request

    init(name: String) throws {
        self.name = name
        let folder = Self.directory.appendingPathComponent(name)
        self.context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: folder.appendingPathComponent("context.json")))
        self.request = try Self.parseRequest(String(decoding: Data(contentsOf: folder.appendingPathComponent("request.txt")), as: UTF8.self))
    }

    var credentials: AWSCredentials {
        AWSCredentials(
            accessKeyID: self.context.credentials.accessKeyID,
            secretAccessKey: self.context.credentials.secretAccessKey,
            sessionToken: self.context.credentials.token
        )
    }

    var date: Date {
        AWSDateFormat.parseISO8601(self.context.timestamp)!
    }

    var signer: SigV4Signer {
        SigV4Signer(
            service: self.context.service,
            region: self.context.region,
            configuration: .init(
                normalizesPath: self.context.normalize,
                addsContentSHA256Header: self.context.signBody,
                signsSecurityToken: !(self.context.omitSessionToken ?? false)
            )
        )
    }

    func expected(_ file: String) throws -> String {
        let url = Self.directory.appendingPathComponent(self.name).appendingPathComponent(file)
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    /// Parses the suite's request format: a request line whose path may hold spaces, headers (a line
    /// starting with whitespace continues the previous one), a blank line, the body.
    static func parseRequest(_ text: String) throws -> SigV4Request {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        let requestLine = lines.removeFirst()
        let method = try #require(requestLine.split(separator: " ").first)
        let target = requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count)
        var headers: [(String, String)] = []
        while let line = lines.popFirst(), !line.isEmpty {
            if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.0, last.1 + " " + line.trimmingCharacters(in: .whitespaces)))
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let body = lines.joined(separator: "\n")
        let pathAndQuery = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return SigV4Request(
            method: String(method),
            path: String(pathAndQuery[0]),
            query: pathAndQuery.count > 1 ? String(pathAndQuery[1]) : nil,
            headers: HTTPHeaders(headers),
            payloadHash: SigV4Signer.payloadHash(of: Array(body.utf8))
        )
    }
}
