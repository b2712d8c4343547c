import ArgumentParser

/// The Reframe command-line tool: run jobs in one process, or submit, watch and repair them on a cluster.
@main
struct Reframe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reframe",
        abstract: "AI video enhancement: super-resolution and frame interpolation.",
        subcommands: [Process.self, Submit.self, Frames.self, GenerateClip.self, Status.self, Watch.self, Chunks.self, Retry.self, DeadLetters.self, Models.self, Bench.self])
}
