import ArgumentParser
import Foundation
import Harness
import Media

/// `reframe bench faults`: one job through the five services as processes, on a private RabbitMQ
/// and Redis this command starts and stops itself, run fault-free and then under each fault
/// scenario of issue 10 (a kill storm, a Redis restart, a RabbitMQ node restart). Prints per
/// scenario: kills, restarts, redeliveries, chunks retried, frames lost, keys leaked and the extra
/// wall time against the fault-free run. Exits 1 if any job did not finish whole and clean.
struct BenchFaults: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Kill and restart scenarios against a fault-free run: retries, frames lost, keys leaked, extra wall time.")

    @Option(help: "SIGKILLs in the kill scenario.") var kills = 20
    @Option(help: "Seed of the kill storm (default: random; printed, so a storm can be replayed).") var seed: UInt64?
    @Option(help: "Length of the generated clip in seconds (30 fps, 1 s segments); long enough for the kills at ≥ 0.3 s apart.") var seconds = 12
    @Option(help: "Frames per chunk (with --seconds, sets the chunk count: 4 frames, 12 s → 96 chunks).") var chunkFrames = 4
    @Option(help: "Clip size WxH.") var size = "320x240"
    @Option(help: "Scenarios to run after the fault-free one, comma-separated: kill, restart-redis, restart-rabbitmq.")
    var scenarios = "kill,restart-redis,restart-rabbitmq"
    @Option(help: "Directory holding the service executables (default: beside this tool).") var binDir: String?
    @Flag(help: "One JSON document instead of lines.") var json = false
    @Flag(help: "Keep the clip, the outputs and the services' logs (their directory is printed).") var keep = false

    func run() async throws {
        let dims = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims.allSatisfy({ $0 >= 16 && $0 % 2 == 0 }) else { throw ValidationError("--size must be WxH with even sides, e.g. 320x240") }
        guard seconds >= 2, chunkFrames >= 1, kills >= 0 else { throw ValidationError("--seconds ≥ 2, --chunk-frames ≥ 1, --kills ≥ 0") }
        let faults = try scenarios.split(separator: ",").map { name -> FaultScenario in
            switch name {
            case "kill": return .kills(count: kills, seed: seed ?? UInt64.random(in: 1...UInt64(UInt32.max)))
            case "restart-redis": return .restart(.redis)
            case "restart-rabbitmq": return .restart(.rabbitMQ)
            default: throw ValidationError("unknown scenario \(name)")
            }
        }

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-faults-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer {
            if keep { FileHandle.standardError.write(Data("kept \(root)\n".utf8)) } else { try? FileManager.default.removeItem(atPath: root) }
        }
        var clip = SyntheticClip.Options()
        (clip.width, clip.height, clip.frames, clip.keyframeInterval) = (dims[0], dims[1], seconds * 30, 30)
        try SyntheticClip.write(path: "\(root)/clip.mp4", options: clip)

        let services = try PrivateServices.start()
        defer { services.stop() }
        let interrupts = stopOnInterrupt(services)
        defer { interrupts.forEach { $0.cancel() } }
        let bin = binDir ?? Bundle.main.executableURL!.deletingLastPathComponent().path
        let cluster = try ServiceCluster(
            mediaRoot: root, amqpURL: services.amqpURL, redisURL: services.redisURL, binDir: bin, runDirectory: services.runDirectory,
            extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": String(chunkFrames), "REFRAME_LOG_LEVEL": "notice"],
            logDirectory: "\(root)/logs")
        defer { cluster.stop() }
        let runner = try FaultScenarioRunner(cluster: cluster, servicesEnvironment: services.environment)
        if !json { runner.onEvent = { print("  \($0)") } }
        // Lossless: "frames lost" counts what the stages made, whatever the encoder chose.
        let flags = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend", "--crf", "0", "--preset", "ultrafast"]
        if !json {
            print("clip \(dims[0])×\(dims[1]), \(seconds) s at 30 fps, \(chunkFrames)-frame chunks; upscale ×2 (Lanczos), interpolate ×2 (blend), libx264 lossless")
            print("five services as processes on a private RabbitMQ (port \(services.amqpPort)) and Redis (port \(services.redisPort))")
        }

        let reference = try await runner.run(.none, job: FaultJob(source: "clip.mp4", output: "fault-free.mp4", flags: flags))
        if !json { print(reference.line) }
        var reports = [reference]
        for fault in faults {
            if !json, case .kills(let n, let s) = fault { print("kill storm: \(n) SIGKILLs, seed \(s)") }
            let report = try await runner.run(fault, job: FaultJob(source: "clip.mp4", output: "\(fault.name).mp4", flags: flags),
                                              reference: "\(root)/fault-free.mp4", faultFreeSeconds: reference.wallSeconds)
            if !json { print(report.line) }
            reports.append(report)
        }

        let passed = reports.allSatisfy(\.passed)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Summary(passed: passed, scenarios: reports)), as: UTF8.self))
        } else {
            let faulted = reports.dropFirst()
            let sum = { (f: (FaultReport) -> Int) in faulted.map(f).reduce(0, +) }
            print("summary: \(faulted.count) fault scenarios, \(sum(\.kills)) kills, \(sum(\.restarts)) restarts, \(sum(\.redeliveries)) redeliveries, "
                  + "\(sum(\.chunksRetried)) chunks retried, frames lost \(sum { $0.framesLost ?? 0 }), keys leaked \(sum { $0.keysLeaked.count }): "
                  + (passed ? "PASS" : "FAIL"))
            for report in reports where !report.keysLeaked.isEmpty { print("  \(report.scenario) left: \(report.keysLeaked.prefix(10).joined(separator: " "))") }
        }
        if !passed { throw ExitCode(1) }
    }

    struct Summary: Encodable {
        var passed: Bool
        var scenarios: [FaultReport]
    }
}

/// Ctrl-C or SIGTERM still stops the private broker and store (the services end with this process).
private func stopOnInterrupt(_ services: PrivateServices) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            services.stop()
            exit(128 + number)
        }
        source.resume()
        return source
    }
}
