import ArgumentParser

/// Benchmarks that print figures; `make bench` runs them on release builds. Nothing here asserts a
/// time: the figures are for people, and `BENCHMARKS.md` records them.
@main
struct Benchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Benchmarks",
        abstract: "Throughput figures for the project's hot paths.",
        subcommands: [CodecBenchmark.self, LoadBenchmark.self]
    )
}
