import ArgumentParser
import Enhance
import Foundation
import Neural

/// Our runtime against PyPI ncnn on the same model file, input and thread count, in one run.
struct BenchUpscale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Median ms/frame of our neural runtime and of ncnn (CPU) on one model, their ratio, and our GFLOP/s.")

    @Option(help: "realesr-animevideov3, realesrgan-x4plus or waifu2x-photo.")
    var model = "realesr-animevideov3"

    @Option(help: "Network factor (default: the model's largest).")
    var factor: Int?

    @Option(help: "waifu2x noise level (-1…3).")
    var noise = 0

    @Option(help: "Input frame size WxH.")
    var size = "640x360"

    @Option(help: "Comma-separated thread counts to measure.")
    var threads = "1,2"

    @Option(help: "Timed runs per engine (after one warm-up).")
    var runs = 5

    @Option(help: "The ncnn timing script.")
    var referenceScript = "benchmarks/reference/ncnn_bench.py"

    @Flag(help: "Print the slowest steps of our runtime (last thread count).")
    var profile = false

    @Flag(help: "Skip ncnn.")
    var noReference = false

    func run() throws {
        let dims = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims.allSatisfy({ $0 >= 16 }) else { throw ValidationError("--size must be WxH, e.g. 640x360") }
        let (w, h) = (dims[0], dims[1])
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        guard !threadCounts.isEmpty else { throw ValidationError("--threads needs at least one positive count") }
        let naturalFactor = model == "waifu2x-photo" ? 2 : 4
        let variant = try NeuralModelVariant.resolve(model: model, factor: factor ?? naturalFactor, noise: noise)
        let files = try ModelStore().files(for: variant)
        let graph = try NcnnImporter.load(param: files.param, weights: files.weights)
        let shape = [1, 3, h, w]
        let macs = try graph.multiplyAccumulates(inputShape: shape)

        // A deterministic textured image in 0…1, identical for both engines.
        var input = Tensor(zeros: shape)
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let v = 0.5 + 0.25 * sin(Float(x) * 0.07 + Float(c)) * cos(Float(y) * 0.05) + 0.2 * Float((x * 7 + y * 13 + c * 5) % 17) / 17
                    input[0, c, y, x] = min(1, max(0, v))
                }
            }
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let inputFile = work.appendingPathComponent("input.f32")
        try input.data.withUnsafeBytes { try Data($0).write(to: inputFile) }

        print("model \(model) (\(variant.file)), input \(w)×\(h), \(String(format: "%.1f", macs / 1e9)) GMAC per frame, median of \(runs) runs")
        print("threads  reframe ms  ncnn ms  ratio   GFLOP/s  PSNR vs ncnn")
        var lastExecutor: Executor?
        for t in threadCounts {
            let executor = try Executor(graph: graph, threads: t)
            lastExecutor = executor
            let output = try executor.run(input)  // warm-up compiles the plan
            // Timed runs take the path the upscalers use: input written into the arena, output
            // copied into a buffer allocated once.
            var sink = [Float](repeating: 0, count: output.count)
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try sink.withUnsafeMutableBufferPointer { out in
                    try executor.run(inputShape: shape, fill: { _ = $0.update(fromContentsOf: input.data) },
                                     read: { result, _ in out.baseAddress!.update(from: result.baseAddress!, count: result.count) })
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            let ours = median(times)
            var line = String(format: "%7d  %10.1f", t, ours)
            if noReference {
                line += String(format: "  %7@  %5@  %8.0f", "-", "-", 2 * macs / (ours / 1000) / 1e9)
            } else {
                let refOut = work.appendingPathComponent("ncnn-\(t).f32")
                let reference = try runReference(files: files, input: inputFile, shape: [3, h, w], threads: t, output: refOut)
                let refData = try Data(contentsOf: refOut)
                let refValues = refData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                let psnr = refValues.count == output.count ? Self.psnr(output.data, refValues) : .nan
                line += String(format: "  %7.1f  %5.2f  %8.0f  %.1f dB", reference, ours / reference, 2 * macs / (ours / 1000) / 1e9, psnr)
            }
            print(line)
            if profile && t == threadCounts.last {
                let steps = try executor.profile(input)
                let total = steps.reduce(0) { $0 + $1.milliseconds }
                print(String(format: "profile: %.1f ms in %d steps; slowest:", total, steps.count))
                // Convolutions dominate and look alike: summarise them, then list the rest.
                let convolutions = Set(try executor.layerImplementations(inputShape: shape)
                    .filter { $0.contains(": convolution") }.map { String($0.prefix { $0 != ":" }) })
                let convSteps = steps.filter { convolutions.contains($0.step) }
                let convTotal = convSteps.reduce(0) { $0 + $1.milliseconds }
                print(String(format: "  %8.2f ms  %d convolutions (%.1f ms each on average)", convTotal, convSteps.count,
                             convTotal / Double(max(convSteps.count, 1))))
                for s in steps where convolutions.contains(s.step) { print(String(format: "      %8.2f ms    %@", s.milliseconds, s.step)) }
                for s in steps.filter({ !convolutions.contains($0.step) }).sorted(by: { $0.milliseconds > $1.milliseconds }).prefix(12) {
                    print(String(format: "  %8.2f ms  %@", s.milliseconds, s.step))
                }
            }
        }
        // The plan is already compiled for this shape: reuse it rather than building another.
        if let layers = try lastExecutor?.layerImplementations(inputShape: shape) {
            let kinds = Dictionary(grouping: layers.map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }, by: { $0 })
            print("implementations: " + kinds.map { "\($0.value.count)× \($0.key)" }.sorted().joined(separator: ", "))
        }
    }

    /// The ncnn side, with the reference environment's Python (benchmarks/reference/env.sh makes it).
    private func runReference(files: (param: URL, weights: URL), input: URL, shape: [Int], threads: Int, output: URL) throws -> Double {
        let python = try BenchInterpolate.run("benchmarks/reference/env.sh", [], environment: [:]).trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try BenchInterpolate.run(python, [referenceScript, "--param", files.param.path, "--bin", files.weights.path,
                                                    "--input", input.path, "--shape", shape.map(String.init).joined(separator: ","),
                                                    "--threads", String(threads), "--runs", String(runs), "--output", output.path],
                                           environment: [:])
        guard let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], let ms = json["median_ms"] as? Double else {
            throw ValidationError("the ncnn reference printed no timing")
        }
        return ms
    }

    private func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// PSNR over the 0…1 range.
    static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        var se = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]); se += d * d }
        let mse = se / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }
}
