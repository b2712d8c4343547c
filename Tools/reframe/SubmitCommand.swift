import ArgumentParser
import Core
import Foundation
import Pipeline

/// `reframe submit SPEC.json` or `reframe submit --source … [flags]`: publishes to the ingest queue.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a job to the ingest queue and print its id.",
        discussion: "With --watch, then follow it as `reframe watch` does (and exit as it does).")

    @Argument(help: "Job spec JSON file (version 1); or give --source and flags.") var specFile: String?
    @Option(help: "Source path relative to the media root.") var source: String?
    @Option(help: "Output path relative to the media root.") var output: String?
    @OptionGroup var options: SpecOptions
    @OptionGroup var cluster: ClusterOptions
    @Flag(help: "Follow the job until it ends, as `reframe watch` does.") var watch = false
    @OptionGroup var follow: FollowOptions

    func run() async throws {
        let body: [UInt8]
        if let specFile {
            guard source == nil else { throw ValidationError("give a spec file or --source, not both") }
            guard let data = FileManager.default.contents(atPath: specFile) else { throw ValidationError("cannot read \(specFile)") }
            body = Array(data)
        } else {
            guard let source else { throw ValidationError("give a spec file or --source") }
            body = Array(try JSONEncoder().encode(try options.spec(source: source, output: output)))
        }
        // Check locally first: the same validation ingest applies, with the same message.
        do { _ = try JobSpec.parse(Data(body)) } catch let error as SpecError { throw ValidationError(error.message) }
        let id = UUID().uuidString.lowercased()
        let bus = try cluster.bus()
        try await bus.publish(body, to: bus.names.queue(Stage.ingest.rawValue), headers: [IngestHandler.jobIdHeader: id])
        await bus.close()
        guard watch else { return print(id) }
        // The id first, written at once (not buffered), so a script or a person has it while the job runs.
        FileHandle.standardOutput.write(Data((id + "\n").utf8))
        try await JobFollower.follow(id: id, options: follow, cluster: cluster)
    }
}
