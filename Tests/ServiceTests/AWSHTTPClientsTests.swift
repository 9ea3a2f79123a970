import AWSAccess
import ArgumentParser
import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import TestSupport
import Testing

@testable import AgentStreamingService

@Suite("Bedrock connection pools", .timeLimit(.minutes(2)))
struct AWSHTTPClientsTests {
    @Test("streams fill one pool of the loop they run on before the next; other loops have their own")
    func poolsFillInTurn() async throws {
        let configuration = try ServiceConfiguration(
            environment: ["MAX_CONCURRENT_STREAMS": "600", "AWS_EC2_METADATA_DISABLED": "true"],
            homeDirectory: nil
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let clients = AWSHTTPClients(configuration: configuration, eventLoopGroup: group)
        let loops = Array(group.makeIterator())
        let held = AWSHTTPClients.streamsPerPool + 44
        // Holds `held` streams open on the first loop at once and notes the pool each one got.
        let (opened, allOpened) = AsyncStream<Void>.makeStream()
        let pools = await withTaskGroup(of: ObjectIdentifier.self) { tasks in
            let release = Shared(false)
            for _ in 0..<held {
                tasks.addTask {
                    let lease = clients.leaseBedrockClient(on: loops[0])
                    defer { lease.release() }
                    #expect(lease.client.eventLoopGroup === loops[0], "a pool lives on the stream's loop")
                    allOpened.yield()
                    while !release.value { try? await Task.sleep(for: .milliseconds(5)) }
                    return ObjectIdentifier(lease.client)
                }
            }
            var count = 0
            for await _ in opened {
                count += 1
                if count == held { break }
            }
            release.withLock { $0 = true }
            return await tasks.reduce(into: [ObjectIdentifier: Int]()) { $0[$1, default: 0] += 1 }
        }
        #expect(pools.values.sorted() == [held - AWSHTTPClients.streamsPerPool, AWSHTTPClients.streamsPerPool])
        let lease = clients.leaseBedrockClient(on: loops[0])
        let alone = ObjectIdentifier(lease.client)
        lease.release()
        #expect(pools[alone] == AWSHTTPClients.streamsPerPool, "once the streams ended, the first pool serves again")
        let otherLease = clients.leaseBedrockClient(on: loops[1])
        let other = otherLease.client
        otherLease.release()
        #expect(other.eventLoopGroup === loops[1])
        #expect(pools[ObjectIdentifier(other)] == nil)
        try await clients.shutdown()
        try await group.shutdownGracefully()
    }
}
