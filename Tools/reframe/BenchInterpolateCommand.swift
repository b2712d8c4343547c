import ArgumentParser
import Core
import Enhance
import Foundation
import Media
import Neural

/// Drop-and-restore on real footage: keep the even frames, rebuild the odd ones with each
/// interpolator (and with the original RIFE code on PyTorch), compare with the real odd frames;
/// then RIFE's speed against PyTorch and onnxruntime, in the same run.
struct BenchInterpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Quality (drop-and-restore PSNR/SSIM) and speed of the interpolators against their references.")

    @Option(help: "Clips in the media cache (or paths).") var clips = "balle1-vp9.avi,cockatoo.mp4"
    @Option(help: "Methods: rife, mci, blend, repeat, pytorch (the reference RIFE; --keep 2 only), rife-dN (RIFE bisecting to depth N, nearest grid point), rife-blend-dN (cross-fade of the two grid points around an off-grid position).")
    var methods = "rife,mci,blend,repeat,pytorch"
    @Option(help: "Keep every Nth frame and restore the N−1 between (positions k/N): 2 tests t = ½, 3 tests a target rate's off-grid positions.")
    var keep = 2
    @Option(help: "Use at most this many source frames of each clip (0: all).") var frames = 0
    @Option(help: "Sizes for the speed comparison (empty: skip it).") var sizes = "640x360,1280x720"
    @Option(help: "Threads for every engine.") var threads = 2
    @Option(help: "Timed runs per engine and size (after one warm-up).") var runs = 3
    @Option(help: "Frames of the mci vs ffmpeg minterpolate comparison, 25 → 60 fps at 640×480 (0: skip it).") var mciFrames = 30
    @Flag(help: "Skip the quality part.") var noQuality = false
    @Flag(help: "Skip PyTorch and onnxruntime in the speed part.") var noReference = false
    @Flag(help: "Print where our runtime spends its time (first size).") var profile = false
    @Option(help: "Sizes run both whole and tiled within --tile-memory (empty: skip it).") var tiledSizes = "1920x1080,3840x2160"
    @Option(help: "Memory budget in MB for the tiled runs (as REFRAME_TILE_MEMORY_MB).") var tileMemory = 256

    func run() throws {
        let options = NeuralRuntimeOptions(threads: threads, memoryBudget: 2 << 30)
        if !noQuality {
            for clip in clips.split(separator: ",").map(String.init) { try quality(clip: clip, options: options) }
        }
        let sizeList = try sizes.split(separator: ",").map { try Self.size(String($0)) }
        if !sizeList.isEmpty { try speed(sizes: sizeList, options: options) }
        let tiledList = try tiledSizes.split(separator: ",").map { try Self.size(String($0)) }
        if !tiledList.isEmpty { try tiled(sizes: tiledList, options: options) }
        if mciFrames > 0 { try mciSpeed() }
    }

    /// Our `mci` against the ffmpeg CLI's minterpolate on the same decoded frames (see MCISpeedComparison).
    private func mciSpeed() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-mci-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let clip = work.appendingPathComponent("balle-640x480.mp4").path
        let source = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/reframe/media/balle-jbart.mp4"
        _ = try Self.run("/usr/bin/ffmpeg", ["-v", "error", "-i", source, "-frames:v", String(mciFrames + 2), "-vf", "scale=640:480",
                                             "-c:v", "libx264", "-crf", "10", "-an", clip], environment: [:])
        let t = try MCISpeedComparison.run(source: clip, targetFps: 60, frames: mciFrames, threads: threads, runs: runs)
        print(String(format: "mci 25 → 60 fps, 640×480, %d frames: reframe %.2f s, ffmpeg minterpolate %.2f s, ratio %.2f (median of %d)",
                     mciFrames, t.oursSeconds, t.ffmpegSeconds, t.oursSeconds / t.ffmpegSeconds, runs))
    }

    // MARK: quality

    private func quality(clip: String, options: NeuralRuntimeOptions) throws {
        let path = clip.contains("/") ? clip : (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/reframe/media/" + clip
        guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("cannot read \(path); run scripts/fetch-media.sh") }
        var all: [VideoFrame] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { all.append($0) }
        if frames > 0 { all = Array(all.prefix(frames)) }
        guard keep >= 2 else { throw ValidationError("--keep must be at least 2") }
        let kept = stride(from: 0, to: all.count, by: keep).map { all[$0] }
        let intervals = kept.count - 1  // each followed by a kept frame
        // The real frames between kept ones, interval by interval.
        let truth = (0..<max(intervals, 0)).flatMap { i in (1..<keep).map { all[i * keep + $0] } }
        guard let first = all.first, truth.count > 0 else { throw ValidationError("\(clip) has too few frames") }
        print("\(clip): \(first.width)×\(first.height), \(all.count) frames; keep one frame in \(keep) (\(kept.count)), restore \(truth.count)")
        print("method          PSNR (Y) dB   SSIM (Y)   seconds")
        var results: [String: Double] = [:]
        for method in methods.split(separator: ",").map(String.init) {
            let start = Date()
            let restored: [VideoFrame]
            switch method {
            case "repeat": restored = (0..<intervals).flatMap { i in [VideoFrame](repeating: kept[i], count: keep - 1) }
            case "pytorch":
                guard keep == 2 else { print("pytorch         (the reference makes t = ½ only; skipped)"); continue }
                restored = try pytorchMiddles(kept: kept)
            default: restored = try inBetweens(method: method, kept: kept, options: options)
            }
            let seconds = Date().timeIntervalSince(start)
            let psnr = try zip(restored, truth).map { try PictureQuality.psnr($0, $1) }.map { min($0, 100) }
            let ssim = try zip(restored, truth).map { try PictureQuality.ssim($0, $1) }
            let meanPSNR = psnr.reduce(0, +) / Double(psnr.count)
            results[method] = meanPSNR
            print(method.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: "  %11.2f  %9.4f  %8.1f", meanPSNR, ssim.reduce(0, +) / Double(ssim.count), seconds))
        }
        if let ours = results["rife"], let reference = results["pytorch"] {
            print(String(format: "rife − pytorch: %+.3f dB (goal: within 0.1)", ours - reference))
        }
        if let ours = results["rife"], let mci = results["mci"] { print(String(format: "rife − mci: %+.2f dB", ours - mci)) }
    }

    /// In-betweens at k/keep between consecutive kept frames, through the interpolator as the stage
    /// runs it: chunks of 24 frames plus the next chunk's first as lookahead.
    private func inBetweens(method: String, kept: [VideoFrame], options: NeuralRuntimeOptions) throws -> [VideoFrame] {
        let f = kept[0]
        let interpolator: any Interpolator
        if method.hasPrefix("rife-d"), let depth = Int(method.dropFirst("rife-d".count)) {
            interpolator = try NeuralInterpolator(width: f.width, height: f.height, pixelFormat: f.pixelFormat, depth: depth, offGrid: .nearest,
                                                  runtime: options)
        } else if method.hasPrefix("rife-blend-d"), let depth = Int(method.dropFirst("rife-blend-d".count)) {
            interpolator = try NeuralInterpolator(width: f.width, height: f.height, pixelFormat: f.pixelFormat, depth: depth, offGrid: .blend,
                                                  runtime: options)
        } else {
            interpolator = try InterpolatorRegistry.make(model: method, width: f.width, height: f.height, pixelFormat: f.pixelFormat)
        }
        var out: [VideoFrame] = []
        let chunk = 24
        for start in stride(from: 0, to: kept.count - 1, by: chunk) {
            let frames = Array(kept[start..<min(start + chunk + 1, kept.count)])
            let samples = (0..<(frames.count - 1)).flatMap { i in
                (1..<keep).map { k in OutputTiming.Sample(pts: Int64((start + i) * keep + k), left: i, position: Double(k) / Double(keep)) }
            }
            out += try interpolator.interpolate(frames: frames, samples: samples)
        }
        return out
    }

    /// The original RIFE code on PyTorch, fed the same RGB the Swift interpolator sees.
    private func pytorchMiddles(kept: [VideoFrame]) throws -> [VideoFrame] {
        let f = kept[0]
        let toRGB = try FrameScaler(from: (f.width, f.height, f.pixelFormat), to: (f.width, f.height, "rgb24"), filter: .bilinear)
        let fromRGB = try FrameScaler(from: (f.width, f.height, "rgb24"), to: (f.width, f.height, f.pixelFormat), filter: .bilinear)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var raw = Data()
        for frame in kept { raw.append(contentsOf: try toRGB.scale(frame).data) }
        try raw.write(to: work.appendingPathComponent("kept.rgb"))
        _ = try Self.reference(["--threads", String(threads), "restore", "--frames", work.appendingPathComponent("kept.rgb").path,
                                "--width", String(f.width), "--height", String(f.height), "--out", work.appendingPathComponent("middles.rgb").path])
        let middles = [UInt8](try Data(contentsOf: work.appendingPathComponent("middles.rgb")))
        let size = f.width * f.height * 3
        guard middles.count == size * (kept.count - 1) else { throw ValidationError("the PyTorch reference returned \(middles.count) bytes") }
        return try (0..<(kept.count - 1)).map { i in
            try fromRGB.scale(VideoFrame(width: f.width, height: f.height, pixelFormat: "rgb24", data: Array(middles[(i * size)..<((i + 1) * size)]), pts: Int64(i)))
        }
    }

    // MARK: speed

    private func speed(sizes: [(Int, Int)], options: NeuralRuntimeOptions) throws {
        print("RIFE HDv3, ms per interpolated frame, median of \(runs) runs, \(threads) threads (PyTorch with OPENBLAS_NUM_THREADS=1)")
        print("size        reframe   pytorch   onnxruntime   ÷pytorch  ÷onnxruntime   reframe memory")
        for (w, h) in sizes {
            // The reference's advice: flow at half resolution above 1080p.
            let network = try RIFENetwork.shared(scale: w * h > 1920 * 1088 ? 0.5 : 1, options: options)
            let (pw, ph) = network.paddedSize(width: w, height: h)
            let megabytes = try network.executor.memoryFootprint(inputShapes: [[1, 3, ph, pw], [1, 3, ph, pw]]) >> 20
            // Content does not change the work; a textured frame and a shifted copy.
            let plane = w * h
            let a = (0..<(3 * plane)).map { i in Float((i % w) * 7 % 251 + (i / w) * 3 % 13) / 264 }
            let b = (0..<(3 * plane)).map { i in a[(i + 5 + 3 * w) % (3 * plane)] }
            var out = [Float](repeating: 0, count: 3 * plane)
            var times: [Double] = []
            for run in 0...runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try out.withUnsafeMutableBufferPointer { try network.middle(a, b, width: w, height: h, output: $0.baseAddress!) }
                if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
            }
            let ours = times.sorted()[times.count / 2]
            if profile && (w, h) == sizes[0] { try printProfile(network, width: w, height: h) }
            if noReference {
                print("\(w)×\(h)".padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "  %7.0f         -             -          -             -   %6d MB", ours, megabytes))
                continue
            }
            let json = try Self.reference(["--threads", String(threads), "speed", "--size", "\(w)x\(h)", "--runs", String(runs),
                                           "--scale", String(network.scale)])
            guard let figures = try JSONSerialization.jsonObject(with: json) as? [String: Any],
                  let torch = figures["torch_ms"] as? Double, let onnx = figures["onnx_ms"] as? Double else {
                throw ValidationError("the speed reference printed no figures")
            }
            print("\(w)×\(h)".padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "  %7.0f   %7.0f   %11.0f   %8.2f  %12.2f   %6d MB", ours, torch, onnx, ours / torch, ours / onnx, megabytes))
        }
    }

    /// Whole frames against tiles within `--tile-memory`: memory, tiles, time, and how far apart
    /// the two outputs are, on two consecutive cockatoo.mp4 frames enlarged to each size (so the
    /// motion grows with it, as in real footage of that size).
    private func tiled(sizes: [(Int, Int)], options: NeuralRuntimeOptions) throws {
        let clip = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/reframe/media/cockatoo.mp4"
        var source: [VideoFrame] = []
        try SegmentDecoder(path: clip, workingPixelFormat: "yuv420p").decodeAll { if source.count < 42 { source.append($0) } }
        guard source.count >= 42 else { throw ValidationError("\(clip) is missing or too short; run scripts/fetch-media.sh") }
        let budget = tileMemory << 20
        print("RIFE within a memory budget of \(tileMemory) MB (REFRAME_TILE_MEMORY_MB), \(threads) threads, ms per frame (median of \(runs))")
        print("size        whole ms   whole MB   tiles   tiled ms   largest tile MB   PSNR tiled vs whole")
        for (w, h) in sizes {
            let scale = w * h > 1920 * 1088 ? 0.5 : 1
            let whole = try RIFENetwork.shared(scale: scale, options: options)
            let small = try RIFENetwork.shared(scale: scale, options: NeuralRuntimeOptions(threads: threads, memoryBudget: budget))
            let plan = try small.tiling(width: w, height: h)
            let (pw, ph) = whole.paddedSize(width: w, height: h)
            let wholeMB = try whole.executor.memoryFootprint(inputShapes: [[1, 3, ph, pw], [1, 3, ph, pw]]) >> 20
            let largest = try plan.tiles.map { t -> Int in
                let (tw, th) = small.paddedSize(width: t.region.x.count, height: t.region.y.count)
                return try small.executor.memoryFootprint(inputShapes: [[1, 3, th, tw], [1, 3, th, tw]])
            }.max()! >> 20
            let plane = w * h
            let f = source[40]
            let enlarge = try FrameScaler(from: (f.width, f.height, f.pixelFormat), to: (w, h, "rgb24"), filter: .lanczos)
            func planar(_ frame: VideoFrame) throws -> [Float] {
                try enlarge.scale(frame).data.withUnsafeBufferPointer { rgb in (0..<(3 * plane)).map { i in Float(rgb[3 * (i % plane) + i / plane]) / 255 } }
            }
            let (a, b) = (try planar(source[40]), try planar(source[41]))
            func time(_ network: RIFENetwork, _ out: inout [Float]) throws -> Double {
                var times: [Double] = []
                for run in 0...runs {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try out.withUnsafeMutableBufferPointer { try network.middle(a, b, width: w, height: h, output: $0.baseAddress!) }
                    if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
                }
                return times.sorted()[times.count / 2]
            }
            var wholeOut = [Float](repeating: 0, count: 3 * plane), tiledOut = wholeOut
            let wholeMs = try time(whole, &wholeOut), tiledMs = try time(small, &tiledOut)
            let mse = zip(wholeOut, tiledOut).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(3 * plane)
            print("\(w)×\(h)".padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "  %8.0f   %8d   %5d   %8.0f   %15d   %8.2f dB", wholeMs, wholeMB, plan.tiles.count, tiledMs, largest,
                         mse > 0 ? 10 * log10(1 / mse) : .infinity))
        }
    }

    private func printProfile(_ network: RIFENetwork, width: Int, height: Int) throws {
        let (pw, ph) = network.paddedSize(width: width, height: height)
        let input = Tensor(shape: [1, 3, ph, pw], data: (0..<(3 * pw * ph)).map { Float($0 % 251) / 251 })
        let steps = try network.executor.profile([input, input])
        let total = steps.reduce(0) { $0 + $1.milliseconds }
        var byKind: [String: Double] = [:]
        let layers = try network.executor.layerImplementations(inputShapes: [input.shape, input.shape])
        let kinds = Dictionary(layers.map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "?")
        }, uniquingKeysWith: { a, _ in a })
        for s in steps { byKind[kinds[s.step.components(separatedBy: " ").first ?? s.step] ?? s.step, default: 0] += s.milliseconds }
        print(String(format: "profile: %.1f ms in %d steps; by implementation:", total, steps.count))
        for (kind, ms) in byKind.sorted(by: { $0.value > $1.value }).prefix(16) { print(String(format: "  %8.1f ms  %@", ms, kind)) }
        print("slowest steps:")
        for s in steps.sorted(by: { $0.milliseconds > $1.milliseconds }).prefix(12) { print(String(format: "  %8.1f ms  %@", s.milliseconds, s.step)) }
    }

    // MARK: helpers

    /// Runs benchmarks/reference/rife_reference.py with the reference environment's Python; returns stdout.
    static func reference(_ arguments: [String]) throws -> Data {
        let python = try run("benchmarks/reference/env.sh", [], environment: [:]).trimmingCharacters(in: .whitespacesAndNewlines)
        return Data(try run(python, ["benchmarks/reference/rife_reference.py"] + arguments, environment: ["OPENBLAS_NUM_THREADS": "1"]).utf8)
    }

    static func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws -> String {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : FileManager.default.currentDirectoryPath + "/" + tool)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(tool) \(arguments.prefix(3).joined(separator: " ")) failed (\(process.terminationStatus)); run from the repository root")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func size(_ text: String) throws -> (Int, Int) {
        let dims = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims.allSatisfy({ $0 >= 32 }) else { throw ValidationError("sizes must be WxH, e.g. 640x360") }
        return (dims[0], dims[1])
    }
}
