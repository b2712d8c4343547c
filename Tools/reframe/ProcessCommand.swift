import ArgumentParser
import Core
import Foundation
import Logging
import Pipeline

/// `reframe process IN -o OUT …`: every stage in this process over the in-memory bus and store.
struct Process: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enhance a video on this machine (all stages in one process).")

    @Argument(help: "Input video.") var input: String
    @Option(name: .shortAndLong, help: "Output file (.mp4, .mkv or .mov).") var output: String
    @OptionGroup var options: SpecOptions
    @Flag(help: "No progress display.") var quiet = false
    @Option(help: "Seconds between progress lines when stderr is not a terminal.") var progressEvery = 5.0

    func run() async throws {
        let (root, source, target) = try EmbeddedPaths.resolve(input: input, output: output)
        let spec = try options.spec(source: source, output: target)
        var logger = Logger(label: "reframe")
        logger.logLevel = .warning
        // Same tunables as the services (segment and chunk sizes, threads), so both modes cut alike.
        var env = ProcessInfo.processInfo.environment
        env["REFRAME_MEDIA_ROOT"] = root
        let settings = try ServiceConfiguration.fromEnvironment(env).settings
        let pipeline = EmbeddedPipeline(mediaRoot: root, settings: settings, logger: logger)
        let bar = ProgressBar(quiet: quiet, plainEvery: progressEvery)
        let id: String
        do {
            id = try await pipeline.run(spec: spec) { bar.update($0) }
        } catch let error as SpecError {
            throw ValidationError(error.message)
        }
        // Notes go to stderr: stdout stays the output path alone, for scripts.
        for note in try await pipeline.context.jobs.job(id)?.notes ?? [] {
            FileHandle.standardError.write(Data((StatusView.note(note) + "\n").utf8))
        }
        print(output)
    }
}

/// The embedded mode uses `/` as its media root so any local path works, still checked for `..`.
enum EmbeddedPaths {
    static func resolve(input: String, output: String) throws -> (root: String, source: String, output: String) {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let inURL = URL(fileURLWithPath: input, relativeTo: cwd).standardizedFileURL
        let outURL = URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL
        guard FileManager.default.isReadableFile(atPath: inURL.path) else { throw ValidationError("cannot read \(input)") }
        return ("/", String(inURL.path.dropFirst()), String(outURL.path.dropFirst()))
    }
}
