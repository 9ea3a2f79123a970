// swift-tools-version:6.1
// A separate package so that the fuzzing flags (-sanitize=fuzzer) never reach the main build.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the clone was called.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "ServiceFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        // libFuzzer's driver, which each fuzzer calls from its own `main`.
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "EventStreamFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "EventStream", package: rootPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "ServerSentEventFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "BedrockAgentCore", package: rootPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "ValidatedRequestFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "AgentRequest", package: rootPackage),
                .product(name: "Authentication", package: rootPackage),
                .product(name: "BedrockAgentCore", package: rootPackage),
                .product(name: "BedrockAgentRuntime", package: rootPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "RequestParserFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "BedrockAgentRuntime", package: rootPackage),
            ]
        ),
    ]
)
