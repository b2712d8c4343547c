import ArgumentParser
import Foundation
import Harness
import Messaging

/// `reframe bench media`: issue 11's container matrix through the embedded pipeline (each case run
/// twice and checked against FFmpeg's CLI, the source's timing and its audio), then the bad-input
/// corpus against the five services as processes on a private RabbitMQ and Redis this command
/// starts and stops itself. One line per case, a summary count; exits 1 when any case fails.
struct BenchMedia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Container matrix and bad-input corpus: one line per case (result, error or frames) and a summary.")

    @Option(help: "Parts to run, comma-separated: matrix, corpus.") var parts = "matrix,corpus"
    @Option(help: "Only matrix cases whose source file name contains this (e.g. mpg, webm).") var only: String?
    @Option(help: "Directory holding the service executables (default: beside this tool).") var binDir: String?
    @Flag(help: "Keep the clips, outputs and service logs (their directory is printed).") var keep = false

    func run() async throws {
        let wanted = Set(parts.split(separator: ",").map(String.init))
        guard !wanted.isEmpty, wanted.isSubset(of: ["matrix", "corpus"]) else { throw ValidationError("--parts takes matrix, corpus") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-media-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer {
            if keep { FileHandle.standardError.write(Data("kept \(root)\n".utf8)) } else { try? FileManager.default.removeItem(atPath: root) }
        }
        var summary: [String] = []
        var failed = false
        if wanted.contains("matrix") {
            let cases = ContainerMatrix.cases.filter { c in only.map { c.file.contains($0) } ?? true }
            print("container matrix: \(cases.count) cases, ×2 Lanczos, half-second segments, each run twice")
            let dir = "\(root)/matrix"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let runner = ContainerMatrixRun(directory: dir)
            var passed = 0
            for c in cases {
                let result = try await runner.run(c)
                print("  " + result.line)
                if result.passed { passed += 1 }
            }
            summary.append("matrix \(passed)/\(cases.count) ok")
            failed = failed || passed < cases.count
        }
        if wanted.contains("corpus") {
            let media = "\(root)/corpus/media"
            try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
            try BadInputCorpus.writeFiles(into: media)
            let services = try PrivateServices.start()
            defer { services.stop() }
            let bin = binDir ?? Bundle.main.executableURL!.deletingLastPathComponent().path
            let cluster = try ServiceCluster(mediaRoot: media, amqpURL: services.amqpURL, redisURL: services.redisURL, binDir: bin,
                                             runDirectory: services.runDirectory,
                                             extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_LOG_LEVEL": "notice"],
                                             logDirectory: "\(root)/corpus/logs")
            defer { cluster.stop() }
            print("bad-input corpus: \(BadInputCorpus.cases.count) cases published at once to the five services (private RabbitMQ and Redis)")
            let started = Date()
            let outcomes = try await BadInputCorpusRun(amqpURL: cluster.amqpURL, redisURL: cluster.redisURL,
                                                       names: QueueNames(prefix: cluster.prefix)).run()
            for o in outcomes {
                print("  \(o.matches ? "ok  " : "FAIL")  \(o.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(o.got)"
                      + (o.matches ? "" : "  (expected: \(o.expected))"))
            }
            let matching = outcomes.filter(\.matches).count
            let alive = cluster.allRunning
            print(String(format: "  all cases ended in %.1f s; services %@", Date().timeIntervalSince(started), alive ? "all still running" : "DIED: \(cluster.ended)"))
            summary.append("corpus \(matching)/\(outcomes.count) as expected")
            failed = failed || matching < outcomes.count || !alive
        }
        print("summary: " + summary.joined(separator: ", ") + (failed ? ": FAIL" : ": PASS"))
        if failed { throw ExitCode(1) }
    }
}
