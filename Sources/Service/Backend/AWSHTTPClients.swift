import AsyncHTTPClient
import NIOCore
import NIOPosix
import Synchronization

/// The HTTP clients the service reaches AWS with: one for the few control-plane calls (credentials,
/// STS) and, for the Bedrock streams, a set of connection pools on each event loop.
///
/// AsyncHTTPClient's pool looks at each of its connections on every request and connection event,
/// so one pool holding thousands of open streams would spend more CPU on each stream the more are
/// open. Streams therefore fill pools of ``streamsPerPool`` connections one after another (a
/// lightly loaded service uses one pool, whose connections it keeps reusing), and every pool lives
/// on one event loop: a stream takes a pool on the loop of its client's connection, so the Bedrock
/// bytes it reads and the lines it writes stay on one thread.
final class AWSHTTPClients: Sendable {
    /// Concurrent streams a pool is meant for: past a few hundred connections its bookkeeping shows.
    static let streamsPerPool = 256

    /// Credentials and STS: a handful of short requests.
    let control: HTTPClient
    private let bedrock: HTTPClient.Configuration
    private let poolsPerLoop: Int
    private let loops: [Loop]

    /// The pools of one event loop, made as streams first need them, and how many streams use
    /// them now.
    fileprivate final class Loop: Sendable {
        let eventLoop: any EventLoop
        let activeStreams = Atomic<Int>(0)
        let pools = Mutex<[HTTPClient]>([])

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }
    }

    /// Room for `MAX_CONCURRENT_STREAMS` on every loop of `eventLoopGroup`, whichever loops the
    /// streams' clients arrive on; a pool is made when a stream first needs it.
    init(configuration: ServiceConfiguration, eventLoopGroup: MultiThreadedEventLoopGroup = .singleton) {
        var control = HTTPClient.Configuration()
        control.timeout = .init(connect: TimeAmount(configuration.connectTimeout))
        self.control = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: control)

        var bedrock = HTTPClient.Configuration()
        bedrock.timeout = .init(connect: TimeAmount(configuration.connectTimeout))
        // A pool never makes a stream wait for a connection: admission already bounds the streams.
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConcurrentStreams
        )
        // The stream retries failed connections itself, with backoff, while nothing was forwarded.
        pool.retryConnectionEstablishment = false
        bedrock.connectionPool = pool
        bedrock.decompression = .disabled
        self.bedrock = bedrock
        self.poolsPerLoop = (configuration.maxConcurrentStreams + Self.streamsPerPool - 1) / Self.streamsPerPool
        self.loops = eventLoopGroup.makeIterator().map(Loop.init)
    }

    /// One stream's use of a pool, from its request to the end of its body; ``release()`` (once)
    /// gives it back.
    struct Lease: Sendable {
        let client: HTTPClient
        fileprivate let loop: Loop

        func release() {
            self.loop.activeStreams.subtract(1, ordering: .relaxed)
        }
    }

    /// The pool for one Bedrock call on `eventLoop` (on any loop's when `eventLoop` is not one of
    /// the group's), counted on its loop until the lease is released.
    func leaseBedrockClient(on eventLoop: any EventLoop) -> Lease {
        let loop = self.loops.first { $0.eventLoop === eventLoop } ?? self.loops[0]
        let streamsBefore = loop.activeStreams.add(1, ordering: .relaxed).oldValue
        let index = min(streamsBefore / Self.streamsPerPool, self.poolsPerLoop - 1)
        let pool = loop.pools.withLock { pools in
            while pools.count <= index {
                pools.append(HTTPClient(eventLoopGroup: loop.eventLoop, configuration: self.bedrock))
            }
            return pools[index]
        }
        return Lease(client: pool, loop: loop)
    }

    /// Closes every connection; call once, after the last request.
    func shutdown() async throws {
        try await self.control.shutdown()
        for pool in self.loops.flatMap({ $0.pools.withLock { $0 } }) {
            try await pool.shutdown()
        }
    }
}
