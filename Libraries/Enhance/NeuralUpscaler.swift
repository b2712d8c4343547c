import Foundation
import Media
import Neural

/// Super-resolution through a neural network on our runtime. Frames of any pixel format go to
/// RGB, through the network in tiles, and back to the frame's own format at the requested
/// factor (a final Lanczos resize covers factors the network lacks, e.g. ×2 from a ×4 model).
/// Pre/post-processing follows the reference applications: RGB in 0…1, mirror prepadding,
/// output ×255, clamped and rounded.
public final class NeuralUpscaler: Upscaler, @unchecked Sendable {
    public let factor: Int
    public let variant: NeuralModelVariant
    private let width: Int
    private let height: Int
    private let inference: TiledInference
    private let toRGB: FrameScaler?
    private let fromRGB: FrameScaler?
    private let lock = NSLock()
    private var input: [Float]
    private var output: [Float]
    /// Reused across frames; copy-on-write makes a fresh one only when the caller still holds the last.
    private var packed: [UInt8]

    public init(model: String, factor: Int, noise: Int? = nil, width: Int, height: Int, pixelFormat: String,
                store: ModelStore = ModelStore(), runtime: NeuralRuntimeOptions = .fromEnvironment()) throws {
        let variant = try NeuralModelVariant.resolve(model: model, factor: factor, noise: noise)
        self.variant = variant
        self.factor = factor
        self.width = width
        self.height = height
        inference = try NeuralSessions.inference(for: variant, store: store, options: runtime)
        let s = variant.networkScale
        toRGB = pixelFormat == "rgb24" ? nil : try FrameScaler(from: (width, height, pixelFormat), to: (width, height, "rgb24"), filter: .point)
        let needsResize = s != factor || pixelFormat != "rgb24"
        fromRGB = needsResize ? try FrameScaler(from: (width * s, height * s, "rgb24"), to: (width * factor, height * factor, pixelFormat), filter: .lanczos) : nil
        input = [Float](repeating: 0, count: 3 * width * height)
        output = [Float](repeating: 0, count: 3 * width * s * height * s)
        packed = [UInt8](repeating: 0, count: 3 * width * s * height * s)
    }

    public func upscale(_ frame: VideoFrame) throws -> VideoFrame {
        guard frame.width == width, frame.height == height else {
            throw EnhanceError.invalidInput("frame is \(frame.width)×\(frame.height), upscaler was built for \(width)×\(height)")
        }
        let rgb = try toRGB?.scale(frame) ?? frame
        let s = variant.networkScale
        let (w, h, ow, oh) = (width, height, width * s, height * s)
        return try lock.withLock {
            let plane = w * h
            rgb.data.withUnsafeBufferPointer { src in input.withUnsafeMutableBufferPointer { PlanarRGB.unpack(src, into: $0, pixels: plane) } }
            try input.withUnsafeBufferPointer { i in
                try output.withUnsafeMutableBufferPointer { o in
                    try inference.run(input: i.baseAddress!, width: w, height: h, output: o.baseAddress!)
                }
            }
            let outPlane = ow * oh
            output.withUnsafeBufferPointer { src in packed.withUnsafeMutableBufferPointer { PlanarRGB.pack(src, into: $0, pixels: outPlane) } }
            let result = VideoFrame(width: ow, height: oh, pixelFormat: "rgb24", data: packed, pts: frame.pts)
            return try fromRGB?.scale(result) ?? result
        }
    }

    /// A planar float in 0…1 as the byte the reference applications write.
    public static func toByte(_ v: Float) -> UInt8 { PlanarRGB.byte(v) }
}

/// Threads and memory for neural inference: `REFRAME_THREADS` (default: all cores) and
/// `REFRAME_TILE_MEMORY_MB` (default 1024) bound one stage process.
public struct NeuralRuntimeOptions: Sendable, Hashable {
    public var threads: Int
    public var memoryBudget: Int

    public init(threads: Int, memoryBudget: Int) {
        self.threads = threads
        self.memoryBudget = memoryBudget
    }

    public static func fromEnvironment() -> NeuralRuntimeOptions {
        let env = ProcessInfo.processInfo.environment
        let threads = env["REFRAME_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        let megabytes = env["REFRAME_TILE_MEMORY_MB"].flatMap(Int.init) ?? 1024
        return NeuralRuntimeOptions(threads: max(1, threads), memoryBudget: max(64, megabytes) << 20)
    }
}

/// Loaded upscaling networks shared by every upscaler in the process.
enum NeuralSessions {
    private static let cache = SessionCache<TiledInference>()

    static func inference(for variant: NeuralModelVariant, store: ModelStore, options: NeuralRuntimeOptions) throws -> TiledInference {
        let files = try store.files(for: variant)
        return try cache.value(for: "\(files.param.path)|\(options.threads)|\(options.memoryBudget)", model: variant.file) {
            let graph = try NcnnImporter.load(param: files.param, weights: files.weights)
            let executor = try Executor(graph: graph, threads: options.threads)
            let geometry = TilingGeometry(scale: variant.networkScale, prepadding: variant.prepadding, valid: variant.valid,
                                          context: variant.valid ? 0 : 16)
            return TiledInference(executor: executor, geometry: geometry, memoryBudget: options.memoryBudget)
        }
    }
}
