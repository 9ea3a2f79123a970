// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "bedrock-agent-streaming",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventStream", targets: ["EventStream"]),
        .library(name: "AWSAccess", targets: ["AWSAccess"]),
        .library(name: "BedrockAgentRuntime", targets: ["BedrockAgentRuntime"]),
        .library(name: "Authentication", targets: ["Authentication"]),
        .library(name: "BedrockAgentCore", targets: ["BedrockAgentCore"]),
        .library(name: "AgentRequest", targets: ["AgentRequest"]),
        .executable(name: "bedrock-agent-streaming", targets: ["AgentStreamingService"]),
        .executable(name: "MockBedrock", targets: ["MockBedrock"]),
        .executable(name: "Benchmarks", targets: ["Benchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP/HTTP only: the gRPC exporter's packages are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // System libraries, found through pkg-config and installed by `make deps` when missing.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),

        .target(
            name: "EventStream",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // SigV4 signing, the AWS credential chain, region and endpoints, STS: AWS access without an SDK.
        .target(
            name: "AWSAccess",
            dependencies: [
                "CLibCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The service, in `Sources/Service`; its module is not called `Service`, which would hide
        // ServiceLifecycle's `Service` protocol.
        .executableTarget(
            name: "AgentStreamingService",
            dependencies: [
                "AWSAccess",
                "AgentRequest",
                "Authentication",
                "BedrockAgentCore",
                "BedrockAgentRuntime",
                "BrowserClient",
                "EventStream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Service",
            swiftSettings: swiftSettings
        ),
        // InvokeAgent's request and event shapes and the service model's rules, shared by the
        // service (which calls Bedrock) and MockBedrock (which answers like it).
        .target(
            name: "BedrockAgentRuntime",
            dependencies: ["AWSAccess"],
            swiftSettings: swiftSettings
        ),
        // AgentCore Runtime's InvokeAgentRuntime: its URL, headers, errors and the model's rules,
        // shared by the service (which calls it) and MockBedrock (which answers like it).
        .target(
            name: "BedrockAgentCore",
            dependencies: ["AWSAccess", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // A request body validated: `/api/agent/stream`'s and `/api/chat`'s JSON become the
        // StreamRequest a backend invokes, under the configuration's rules; shared by the service
        // and its fuzz target.
        .target(
            name: "AgentRequest",
            dependencies: [
                "AWSAccess",
                "Authentication",
                "BedrockAgentCore",
                "BedrockAgentRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Who is asking: API keys, JWTs verified with jwt-kit against an issuer's JWKS, per-principal
        // limits and the sessions that belong to a principal; shared by the service and the benchmarks.
        .target(
            name: "Authentication",
            dependencies: [
                "AWSAccess",
                "BedrockAgentRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The browser client library and the playground page (JavaScript and HTML), embedded in the
        // service, which serves them.
        .target(
            name: "BrowserClient",
            exclude: ["package.json"],
            resources: [.embedInCode("agent-stream.js"), .embedInCode("agent-stream.d.ts"), .embedInCode("playground.html")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MockBedrock",
            dependencies: [
                "AWSAccess",
                "BedrockAgentCore",
                "BedrockAgentRuntime",
                "EventStream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "AWSAccess",
                "Authentication",
                "BedrockAgentRuntime",
                "CZlib",
                "EventStream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "EventStreamTests",
            dependencies: [
                "EventStream",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets that run servers.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "TestSupport",
                "AWSAccess",
                "AgentRequest",
                "Authentication",
                "BedrockAgentCore",
                "BedrockAgentRuntime",
                "BrowserClient",
                "EventStream",
                "MockBedrock",
                "AgentStreamingService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MockBedrockTests",
            dependencies: [
                "TestSupport",
                "AWSAccess",
                "BedrockAgentRuntime",
                "EventStream",
                "MockBedrock",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSAccessTests",
            dependencies: [
                "TestSupport",
                "AWSAccess",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
    ]
)
