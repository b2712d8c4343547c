import ArgumentParser
import Core
import Foundation
import Harness
import Media

/// `reframe bench api`: the Ingest service's HTTP API under load from Debian's `wrk` on loopback,
/// on a private RabbitMQ and Redis this command starts itself. Ingest runs alone, so submitted jobs
/// are planned, recorded and queued but never processed: the figures are the API's own.
/// The reference, measured in the same run, is `GET /healthz` (no token, no store).
struct BenchAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "HTTP API load: requests/s and p50/p99 latency of POST /v1/jobs and GET /v1/jobs/{id} (wrk), and SSE fan-out.")

    @Option(help: "Seconds of load per endpoint.") var seconds = 10
    @Option(help: "Open connections wrk keeps (its -c).") var connections = 32
    @Option(help: "wrk threads (its -t).") var threads = 2
    @Option(help: "Watchers of one job's event stream, comma-separated runs.") var watchers = "100,500"
    @Option(help: "Directory holding the service executables (default: beside this tool).") var binDir: String?

    func run() async throws {
        let fanOuts = try watchers.split(separator: ",").map { part -> Int in
            guard let n = Int(part), n > 0, n <= 5000 else { throw ValidationError("--watchers takes counts in 1…5000") }
            return n
        }
        try Wrk.install()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-api-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var clip = SyntheticClip.Options()
        clip.frames = 60
        try SyntheticClip.write(path: "\(root)/clip.mp4", options: clip)

        let services = try PrivateServices.start()
        defer { services.stop() }
        let bin = binDir ?? Bundle.main.executableURL!.deletingLastPathComponent().path
        // No rate limit in the way: the bench measures the server, not the limiter.
        let cluster = try ServiceCluster(mediaRoot: root, amqpURL: services.amqpURL, redisURL: services.redisURL, binDir: bin,
                                         runDirectory: services.runDirectory,
                                         extraEnvironment: ["REFRAME_API_RATE": "1000000", "REFRAME_LOG_LEVEL": "error"],
                                         logDirectory: "\(root)/logs", only: ["Ingest"])
        defer { cluster.stop() }
        let base = "http://127.0.0.1:\(cluster.httpPort)"
        let token = cluster.apiTokens["alpha"]!
        let auth = ["Authorization": "Bearer \(token)"]
        let api = APIClient(base: base, token: token)
        try await api.awaitReady()

        print("Ingest HTTP API on loopback, wrk \(seconds) s per endpoint, \(connections) connections, \(threads) threads, "
              + "\(ProcessInfo.processInfo.activeProcessorCount) cores (wrk shares them)")
        let spec = String(decoding: try JSONEncoder().encode(JobSpec(source: "clip.mp4", output: "out.mp4",
                                                                        upscale: UpscaleSpec(factor: 2, model: "lanczos"))), as: UTF8.self)
        let one = try await api.createJob(spec)
        let runs: [(String, Wrk.Request)] = [
            ("GET /healthz (reference)", Wrk.Request(url: "\(base)/healthz")),
            ("GET /v1/jobs/{id}", Wrk.Request(url: "\(base)/v1/jobs/\(one)", headers: auth)),
            ("POST /v1/jobs", Wrk.Request(method: "POST", url: "\(base)/v1/jobs",
                                          headers: auth.merging(["Content-Type": "application/json"]) { $1 }, body: spec)),
        ]
        var reference = Double.nan
        var failed = false
        for (name, request) in runs {
            let r = try Wrk.run(request, seconds: seconds, connections: connections, threads: threads)
            if reference.isNaN { reference = r.requestsPerSecond }
            print("  " + name.padding(toLength: 26, withPad: " ", startingAt: 0)
                  + String(format: " %8.0f req/s (%.2f× /healthz)  p50 %7.2f ms  p99 %7.2f ms  %d requests, %d not 2xx, %d socket errors",
                         r.requestsPerSecond, r.requestsPerSecond / reference, r.p50, r.p99, r.requests, r.non2xx, r.socketErrors))
            failed = failed || r.non2xx > 0 || r.socketErrors > 0
        }
        guard cluster.allRunning else { throw ValidationError("Ingest died under load: \(cluster.ended)") }

        for n in fanOuts {
            let id = try await api.createJob(spec)
            let fanOut = EventStreamFanOut(url: "\(base)/v1/jobs/\(id)/events", token: token, watchers: n)
            // The job never runs (no Extractor): cancelling it is what ends it, and every stream with it.
            let r = try await fanOut.run { try await api.cancel(id) }
            print(String(format: "  SSE fan-out %5d watchers: all connected in %.2f s; after the job ended, streams closed in p50 %.0f ms, "
                         + "p99 %.0f ms, last %.0f ms; %.1f events each; %d failed",
                         n, r.allConnectedSeconds, r.percentile(50) * 1000, r.percentile(99) * 1000, (r.closeSeconds.last ?? .nan) * 1000,
                         r.eventsPerWatcher, r.failures.count))
            if let first = r.failures.first { print("    first failure: \(first)") }
            failed = failed || !r.failures.isEmpty
        }
        guard cluster.allRunning else { throw ValidationError("Ingest died under load: \(cluster.ended)") }
        print(failed ? "summary: FAIL (errors above)" : "summary: PASS (no errors)")
        if failed { throw ExitCode(1) }
    }
}
