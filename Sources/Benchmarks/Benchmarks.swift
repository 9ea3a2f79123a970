import ArgumentParser
import NIOCore
import NIOPosix

/// Benchmarks that print figures; `make bench` runs them on release builds. Nothing here asserts a
/// time: the figures are for people, and `BENCHMARKS.md` records them.
@main
struct Benchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Benchmarks",
        abstract: "Throughput figures for the project's hot paths.",
        subcommands: [
            CodecBenchmark.self, SigningBenchmark.self, RequestParsingBenchmark.self, AuthBenchmark.self, FormatsBenchmark.self,
            ObservabilityBenchmark.self, LoadBenchmark.self,
        ]
    )

    /// Runs Swift concurrency's jobs on NIO's event loops, so a task that reads one connection and
    /// writes another does not hop between two thread pools for every chunk.
    ///
    /// The generator keeps to one event loop, and so does MockBedrock (`BenchmarkProcesses`): they
    /// share the two cores with the service, and a second thread of their own measured as more CPU
    /// for all three processes (more wake-ups, each with fewer connections ready) and wider chunk
    /// gaps, with no gain in streams per second.
    static func main() async {
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await self.main(nil)
    }
}
