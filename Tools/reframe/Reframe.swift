import ArgumentParser
import Core

/// The Reframe command-line tool: run jobs in one process, or submit, watch and repair them on a cluster.
@main
struct Reframe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reframe",
        abstract: "AI video enhancement: super-resolution and frame interpolation.",
        subcommands: [Process.self, Submit.self, Frames.self, GenerateClip.self, Status.self, Watch.self, Chunks.self, Retry.self, Cancel.self, DeadLetters.self, Models.self, Bench.self])

    /// ArgumentParser's own entry point, after ignoring SIGPIPE: a Redis that goes away mid-write
    /// must be an error the command reports, not a silent death.
    static func main() async {
        ProcessSignals.ignoreBrokenPipe()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
