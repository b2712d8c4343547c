import ArgumentParser
import Core
import Foundation
import Logging
import Pipeline
import Store

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks that print figures against a reference run in the same invocation.",
                                                    subcommands: [BenchPipeline.self, BenchUpscale.self, BenchInterpolate.self, BenchFaults.self, BenchMedia.self, BenchAPI.self])
}

/// `reframe bench pipeline`: Lanczos upscale of one file through (a) the distributed services, one
/// replica per stage, (b) `reframe process`, (c) ffmpeg's own scale+libx264; wall times and ratios.
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pipeline")
    @Option(help: "Input video (default: balle-jbart.mp4 from the media cache).") var input: String?
    @Option(help: "Upscale factor.") var upscale = 2
    @Option(help: "Directory holding the service executables (default: beside this tool).") var binDir: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let source = input ?? (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/reframe/media/balle-jbart.mp4"
        guard FileManager.default.isReadableFile(atPath: source) else { throw ValidationError("cannot read \(source); run scripts/fetch-media.sh") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let name = (source as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: source, toPath: "\(root)/\(name)")
        let spec = JobSpec(source: name, output: "distributed.mp4", upscale: UpscaleSpec(factor: upscale, model: "lanczos"))
        print("input \(name), Lanczos ×\(upscale), libx264 crf 18 preset medium, \(ProcessInfo.processInfo.activeProcessorCount) cores")

        let ffmpegSeconds = try time {
            try Shell.run("/usr/bin/ffmpeg", ["-y", "-v", "error", "-i", "\(root)/\(name)", "-vf", "scale=iw*\(upscale):ih*\(upscale):flags=lanczos",
                                              "-c:v", "libx264", "-crf", "18", "-preset", "medium", "-c:a", "copy", "\(root)/ffmpeg.mp4"])
        }
        print(String(format: "(c) ffmpeg scale+libx264:        %7.2f s", ffmpegSeconds))

        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var env = ProcessInfo.processInfo.environment
        env["REFRAME_MEDIA_ROOT"] = root
        // The same segment/chunk settings the spawned services read, so (a) and (b) do the same work.
        let embedded = EmbeddedPipeline(mediaRoot: root, settings: try ServiceConfiguration.fromEnvironment(env).settings, logger: logger)
        var embeddedSpec = spec
        embeddedSpec.output = "embedded.mp4"
        let started = Date()
        _ = try await embedded.run(spec: embeddedSpec, interval: 0.05)
        let embeddedSeconds = Date().timeIntervalSince(started)
        let embeddedPeak = await embedded.peakStoreBytes()
        print(String(format: "(b) reframe process (embedded):  %7.2f s   peak store %.1f MiB", embeddedSeconds, Double(embeddedPeak) / 1_048_576))

        let (distributedSeconds, redisPeak) = try await distributed(spec: spec, root: root)
        print(String(format: "(a) distributed, 1 replica/stage: %7.2f s   peak Redis used_memory above idle %.1f MiB (sampled every 20 ms)", distributedSeconds, Double(redisPeak) / 1_048_576))
        print(String(format: "ratio a/c = %.2f   b/c = %.2f", distributedSeconds / ffmpegSeconds, embeddedSeconds / ffmpegSeconds))
    }

    private func distributed(spec: JobSpec, root: String) async throws -> (Double, Int) {
        let bin = binDir ?? Bundle.main.executableURL!.deletingLastPathComponent().path
        let prefix = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        var env = ProcessInfo.processInfo.environment
        env["REFRAME_AMQP_URL"] = cluster.amqp
        env["REFRAME_REDIS_URL"] = cluster.redis
        env["REFRAME_MEDIA_ROOT"] = root
        env["REFRAME_QUEUE_PREFIX"] = prefix
        env["REFRAME_LOG_LEVEL"] = "warning"
        // The bench submits over AMQP: Ingest's HTTP API takes any free loopback port, never a busy 8080.
        env["REFRAME_HTTP_HOST"] = "127.0.0.1"
        env["REFRAME_HTTP_PORT"] = "0"
        let services = try ["Ingest", "Extractor", "Upscaler", "Interpolator", "Assembler"].map { try Shell.spawn("\(bin)/\($0)", env: env) }
        defer { for s in services { s.terminate(); s.waitUntilExit() } }
        let redis = try RedisStore(url: cluster.redis, connections: 1)
        let jobs = JobStore(kv: redis)
        try await Task.sleep(nanoseconds: 1_000_000_000)  // let every service declare topology and subscribe
        let baseline = try await redis.usedMemoryBytes()
        var peak = baseline
        let id = UUID().uuidString.lowercased()
        let bus = try cluster.bus(prefix: prefix)
        let started = Date()
        try await bus.publish(Array(try JSONEncoder().encode(spec)), to: bus.names.queue("ingest"), headers: [IngestHandler.jobIdHeader: id])
        while true {
            try await Task.sleep(nanoseconds: 20_000_000)
            peak = max(peak, try await redis.usedMemoryBytes())
            guard let record = try await jobs.job(id) else { continue }
            if record.state == .done { break }
            if record.state.isFinal { throw ValidationError("distributed job \(record.state.rawValue): \(record.error ?? "")") }
            if Date().timeIntervalSince(started) > 1800 { throw ValidationError("distributed job did not finish in 30 min") }
        }
        let seconds = Date().timeIntervalSince(started)
        await bus.close()
        return (seconds, peak - baseline)
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let started = Date()
        try body()
        return Date().timeIntervalSince(started)
    }
}

enum Shell {
    static func run(_ path: String, _ args: [String]) throws {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("\(path) exited with \(p.terminationStatus)") }
    }

    static func spawn(_ path: String, env: [String: String]) throws -> Foundation.Process {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.environment = env
        try p.run()
        return p
    }
}
