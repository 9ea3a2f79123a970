import Foundation
import NIOHTTP1
import Testing

@testable import AWSAccess

@Suite("Signing building blocks")
struct SigningPartsTests {
    @Test("the signing key derivation gives the key of AWS's documented example, and is cached")
    func signingKey() {
        // The example of AWS's "Deriving the signing key" documentation (IAM, us-east-1, 2012-02-15).
        let cache = SigningKeyCache()
        let key = cache.signingKey(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            date: "20120215",
            region: "us-east-1",
            service: "iam"
        )
        #expect(Hashing.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
        _ = cache.signingKey(secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20120215", region: "us-east-1", service: "iam")
        #expect(cache.count == 1)
        _ = cache.signingKey(secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20120216", region: "us-east-1", service: "iam")
        #expect(cache.count == 2)
    }

    @Test("a full cache starts over instead of growing")
    func cacheCapacity() {
        let cache = SigningKeyCache(capacity: 2)
        for day in 1...5 {
            _ = cache.signingKey(secretAccessKey: "secret", date: "2024010\(day)", region: "us-east-1", service: "sts")
        }
        #expect(cache.count <= 2)
    }

    @Test("SHA-256 and HMAC-SHA256 match RFC 4231 and FIPS 180-2 values")
    func hashing() {
        #expect(Hashing.hex(Hashing.sha256("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SigV4Signer.payloadHash(of: [UInt8]()) == SigV4Signer.emptyPayloadHash)
        // RFC 4231 test case 2.
        #expect(
            Hashing.hex(Hashing.hmacSHA256(key: Array("Jefe".utf8), data: "what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
    }

    @Test(
        "X-Amz-Date is formatted from epoch seconds",
        arguments: [
            (0.0, "19700101T000000Z"),
            (1_440_938_160, "20150830T123600Z"),
            (951_782_400, "20000229T000000Z"),
            (4_102_444_799.9, "20991231T235959Z"),
            (-1.5, "19691231T235958Z"),
        ]
    )
    func amzDate(seconds: Double, expected: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(AWSDateFormat.amzDate(date) == expected)
        #expect(AWSDateFormat.dateStamp(date) == String(expected.prefix(8)))
        #expect(AWSDateFormat.parseAmzDate(expected) == Date(timeIntervalSince1970: seconds.rounded(.down)))
    }

    @Test(
        "ISO-8601 expirations parse with and without fractional seconds and offsets",
        arguments: [
            ("2015-08-30T12:36:00Z", 1_440_938_160.0),
            ("2015-08-30T12:36:00.250Z", 1_440_938_160.25),
            ("2015-08-30T12:36:00.123456789Z", 1_440_938_160.123456789),
            ("2015-08-30T14:36:00+02:00", 1_440_938_160.0),
            ("2015-08-30T10:36:00-0200", 1_440_938_160.0),
            ("2015-08-30t12:36:00z", 1_440_938_160.0),
            (" 2024-02-29T00:00:00Z\n", 1_709_164_800.0),
        ]
    )
    func iso8601(text: String, seconds: Double) throws {
        let date = try #require(AWSDateFormat.parseISO8601(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_001)
    }

    @Test(
        "malformed ISO-8601 times are rejected",
        arguments: [
            "", "2015-08-30", "2015-08-30T12:36:00", "2015-13-30T12:36:00Z", "2015-08-30T25:00:00Z", "2015-08-30T12:36:00.Z",
            "2015-08-30T12:36:00ZZ", "yesterday", "2015-08-30T12:36:00+2",
        ]
    )
    func iso8601Malformed(text: String) {
        #expect(AWSDateFormat.parseISO8601(text) == nil)
    }

    @Test("percent-encoding keeps only unreserved characters")
    func percentEncoding() {
        #expect(PercentEncoding.encode("a:b.c") == "a%3Ab.c")
        #expect(PercentEncoding.encode("a b/c+d~e_f-g") == "a%20b%2Fc%2Bd~e_f-g")
        #expect(PercentEncoding.encode("ሴ") == "%E1%88%B4")
        #expect(PercentEncoding.decode("a%3Ab%3ac%zz%") == "a:b:c%zz%")
    }

    @Test("the canonical URI encodes the wire path again, except when configured like S3")
    func doubleEncoding() {
        let request = SigV4Request(
            method: "GET",
            path: "/sessions/a%3Ab.c/./text",
            headers: ["Host": "example.amazonaws.com"],
            payloadHash: SigV4Signer.emptyPayloadHash
        )
        #expect(CanonicalRequest(request).uri == "/sessions/a%253Ab.c/text")
        let s3 = SigV4Signer.Configuration(encodesPathTwice: false, normalizesPath: false)
        #expect(CanonicalRequest(request, configuration: s3).uri == "/sessions/a%3Ab.c/./text")
    }

    @Test("headers are lowercased, trimmed, folded and sorted; unsigned ones are left out")
    func canonicalHeaders() {
        let request = SigV4Request(
            method: "POST",
            path: "",
            query: "b=2&a=&a=1&c",
            headers: [
                "Host": "example.amazonaws.com", "X-Custom": "  one   two ", "x-custom": "three", "User-Agent": "test",
                "X-Amzn-Trace-Id": "Root=1",
            ],
            payloadHash: "UNSIGNED-PAYLOAD"
        )
        let canonical = CanonicalRequest(request)
        #expect(canonical.uri == "/")
        #expect(canonical.query == "a=&a=1&b=2&c=")
        #expect(canonical.headers == "host:example.amazonaws.com\nx-custom:one two,three\n")
        #expect(canonical.signedHeaders == "host;x-custom")
    }

    @Test("an Authorization header round-trips, and malformed ones are rejected")
    func authorizationHeader() throws {
        let header =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123"
        let authorization = try #require(SigV4Authorization(parsing: header))
        #expect(authorization.accessKeyID == "AKIDEXAMPLE")
        #expect(authorization.credentialScope == "20150830/us-east-1/service/aws4_request")
        #expect(authorization.headerValue == header)
        #expect(SigV4Authorization(parsing: "Bearer token") == nil)
        #expect(SigV4Authorization(parsing: "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service, SignedHeaders=host, Signature=a") == nil)
        #expect(SigV4Authorization(parsing: "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, Signature=a") == nil)
    }

    @Test("credentials never print their secrets")
    func redaction() {
        let credentials = AWSCredentials(
            accessKeyID: TestKeys.accessKeyID,
            secretAccessKey: TestKeys.secretAccessKey,
            sessionToken: TestKeys.sessionToken
        )
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(text.contains(TestKeys.accessKeyID))
            #expect(!TestKeys.leaksSecret(text))
        }
    }
}
