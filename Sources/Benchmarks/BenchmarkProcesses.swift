import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The release binaries under test, started as child processes with the settings of the load
/// runs, and stopped with SIGTERM.
final class BenchmarkProcesses: @unchecked Sendable {
    // Below Linux's ephemeral range (32768 and up): the thousands of client connections of one
    // run leave their local ports in TIME_WAIT, which would keep the next run from listening there.
    static let mockPort = 24_661
    static let servicePort = 28_081
    static let accessKeyID = "AKIDBENCHMARK"
    static let secretAccessKey = "benchmark/secret"

    let mock: Process
    let service: Process

    var mockMonitor: ProcessMonitor { ProcessMonitor(pid: self.mock.processIdentifier) }
    var serviceMonitor: ProcessMonitor { ProcessMonitor(pid: self.service.processIdentifier) }

    init(binaries: String, maxConcurrentStreams: Int, serviceEnvironment: [String: String] = [:]) throws {
        // A server already listening (another benchmark still running) would answer in place of
        // the ones started here, which exit at once and would go unnoticed until the run hangs.
        for port in [Self.mockPort, Self.servicePort] where Self.isListening(port) {
            throw ProcessExited(description: "port \(port) is already in use on 127.0.0.1; is another benchmark running?")
        }
        let environment = ProcessInfo.processInfo.environment
        self.mock = Process()
        self.mock.executableURL = URL(fileURLWithPath: binaries + "/MockBedrock")
        self.mock.arguments = ["--port", String(Self.mockPort), "--fixtures", "Fixtures"]
        // MockBedrock keeps to one event loop, as the generator does (`Benchmarks.main`): on two
        // shared cores a second thread of the mock's would mostly compete with the service it
        // feeds. One loop still serves more streams a second than the service's two.
        self.mock.environment = environment.merging([
            "MOCK_BEDROCK_ACCESS_KEY_ID": Self.accessKeyID, "MOCK_BEDROCK_SECRET_ACCESS_KEY": Self.secretAccessKey,
            "NIO_SINGLETON_GROUP_LOOP_COUNT": "1",
        ]) { _, new in new }
        self.mock.standardOutput = FileHandle.nullDevice
        self.mock.standardError = FileHandle.nullDevice

        self.service = Process()
        self.service.executableURL = URL(fileURLWithPath: binaries + "/bedrock-agent-streaming")
        self.service.environment = environment.merging([
            "PORT": String(Self.servicePort), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(Self.mockPort)", "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": Self.accessKeyID, "AWS_SECRET_ACCESS_KEY": Self.secretAccessKey,
            "AWS_EC2_METADATA_DISABLED": "true", "MAX_CONCURRENT_STREAMS": String(maxConcurrentStreams),
            "FIRST_EVENT_TIMEOUT_SECONDS": "300", "IDLE_TIMEOUT_SECONDS": "300", "STREAM_TIMEOUT_SECONDS": "3600",
        ]) { _, new in new }.merging(serviceEnvironment) { _, new in new }
        self.service.standardOutput = FileHandle.standardError
        self.service.standardError = FileHandle.standardError

        try self.mock.run()
        try self.service.run()
    }

    /// Fails when a process has already exited: typically because a process left over from an
    /// earlier run holds its port, and would otherwise be measured in its place.
    func checkRunning() throws {
        for (name, process, port) in [("MockBedrock", self.mock, Self.mockPort), ("the service", self.service, Self.servicePort)]
        where !process.isRunning {
            throw ProcessExited(
                description: "\(name) exited at start (status \(process.terminationStatus)); is port \(port) taken by an earlier run?"
            )
        }
    }

    /// Waits until both listen (up to 10 s).
    static func waitForService() async throws {
        for _ in 0..<200 {
            if Self.isListening(Self.servicePort) && Self.isListening(Self.mockPort) {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessExited(description: "the service did not listen on \(Self.servicePort)")
    }

    /// Whether something accepts TCP connections on `port` of 127.0.0.1.
    static func isListening(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    struct ProcessExited: Error, CustomStringConvertible {
        var description: String
    }

    /// SIGTERM, then SIGKILL for a process still running 10 s later (said on stderr: a graceful
    /// shutdown that hangs is worth knowing about, but must not hang the benchmark).
    func stop() {
        for (name, process) in [("the service", self.service), ("MockBedrock", self.mock)] where process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(10)
            // Polled: `waitUntilExit` spins a run loop that has nothing to wait on, at full CPU.
            while process.isRunning, ContinuousClock.now < deadline {
                usleep(20_000)
            }
            if process.isRunning {
                FileHandle.standardError.write(Data("\(name) did not stop within 10 s of SIGTERM; killed\n".utf8))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }
}
