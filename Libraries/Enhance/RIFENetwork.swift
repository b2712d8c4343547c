import Foundation
import Neural

/// RIFE HDv3 on our runtime: the frame halfway between two RGB frames, as planar floats in 0…1.
/// Frames are zero-padded on the right and bottom to the network's alignment and cropped back, as
/// the reference application does. A frame whose inference would not fit `memoryBudget` runs in
/// overlapping tiles (see `RIFETiling`). One instance per process and settings (see `shared`): the
/// executor keeps its compiled plans and weights; calls are serialised by the executor.
public final class RIFENetwork: @unchecked Sendable {
    public let scale: Double
    public let executor: Executor
    /// Upper bound on the executor's working memory (activations, weights, scratch) for one run.
    public let memoryBudget: Int
    /// Context each tile reads past its core: RIFE's coarsest level sees motions of up to about a
    /// hundred pixels at scale 1 (twice that at scale ½), and a warp must find its source inside the tile.
    public var halo: Int { Int((128 / scale).rounded()) }
    private let lock = NSLock()
    private var footprintModel: (fixed: Double, perPixel: Double)?

    public init(checkpoint: URL, scale: Double = 1, threads: Int, memoryBudget: Int = 1 << 30) throws {
        self.scale = scale
        self.memoryBudget = memoryBudget
        let weights = try TorchCheckpoint.load(checkpoint, stripPrefix: "module.")
        executor = try Executor(graph: try RIFEHDv3.graph(checkpoint: weights, scale: scale), threads: threads)
    }

    /// The network for `scale` from the model store, loaded once per process.
    public static func shared(store: ModelStore = ModelStore(), scale: Double = 1, options: NeuralRuntimeOptions) throws -> RIFENetwork {
        let file = try store.file("flownet.pkl", in: .rife)
        return try cache.value(for: "\(file.path)|\(scale)|\(options.threads)|\(options.memoryBudget)", model: "rife") {
            try RIFENetwork(checkpoint: file, scale: scale, threads: options.threads, memoryBudget: options.memoryBudget)
        }
    }

    private static let cache = SessionCache<RIFENetwork>()

    /// Padded network input size for a frame size.
    public func paddedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let a = RIFEHDv3.alignment(scale: scale)
        return ((width + a - 1) / a * a, (height + a - 1) / a * a)
    }

    /// Bytes one run at this padded size needs, from a straight line through two small probe
    /// plans (activations grow with the area; weights and scratch do not), so no full-size plan
    /// is compiled just to learn that it would not fit.
    public func estimatedFootprint(paddedWidth: Int, paddedHeight: Int) throws -> Int {
        let model = try footprintLine()
        return Int(model.fixed + model.perPixel * Double(paddedWidth * paddedHeight))
    }

    private func footprintLine() throws -> (fixed: Double, perPixel: Double) {
        try lock.withLock {
            if let m = footprintModel { return m }
            let a = RIFEHDv3.alignment(scale: scale)
            let small = 4 * a, large = 8 * a
            // Probe plans are not kept: each holds its own copy of the weights.
            let fs = Double(try executor.memoryFootprint(inputShapes: Array(repeating: [1, 3, small, small], count: 2), keepPlan: false))
            let fl = Double(try executor.memoryFootprint(inputShapes: Array(repeating: [1, 3, large, large], count: 2), keepPlan: false))
            let perPixel = (fl - fs) / Double(large * large - small * small)
            let m = (fixed: fs - perPixel * Double(small * small), perPixel: perPixel)
            footprintModel = m
            return m
        }
    }

    /// How a frame of this size runs within the budget.
    public func tiling(width: Int, height: Int) throws -> RIFETiling {
        let a = RIFEHDv3.alignment(scale: scale)
        let model = try footprintLine()
        let maxArea = Int((Double(memoryBudget) - model.fixed) / model.perPixel)
        guard let plan = RIFETiling.plan(width: width, height: height, alignment: a, halo: halo, maxPaddedArea: maxArea) else {
            let smallest = try estimatedFootprint(paddedWidth: a + 2 * halo, paddedHeight: a + 2 * halo)
            throw EnhanceError.invalidInput("RIFE needs at least \(smallest >> 20) MB for a \(width)×\(height) frame; "
                + "REFRAME_TILE_MEMORY_MB allows \(memoryBudget >> 20)")
        }
        return plan
    }

    /// `a`, `b` and `output` are 3×height×width planar.
    public func middle(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, width: Int, height: Int,
                       output: UnsafeMutablePointer<Float>) throws {
        let plan = try tiling(width: width, height: height)
        let plane = width * height
        if plan.tiles.count == 1 {
            return try run(a, b, width: width, height: height, region: plan.tiles[0].region) { merged, pw, ph in
                for c in 0..<3 {
                    for y in 0..<height { (output + c * plane + y * width).update(from: merged + (c * ph + y) * pw, count: width) }
                }
            }
        }
        // Weighted sum of the tiles, then divided by the summed weights (which are 1 but for rounding).
        output.update(repeating: 0, count: 3 * plane)
        var total = [Float](repeating: 0, count: plane)
        for tile in plan.tiles {
            let (rx, ry) = tile.region
            let wx = rx.map { RIFETiling.weight($0, region: rx, extent: width, halo: plan.halo) }
            let wy = ry.map { RIFETiling.weight($0, region: ry, extent: height, halo: plan.halo) }
            try run(a, b, width: width, height: height, region: tile.region) { merged, pw, ph in
                for (j, y) in ry.enumerated() where wy[j] > 0 {
                    for (i, x) in rx.enumerated() where wx[i] > 0 {
                        let w = wx[i] * wy[j]
                        total[y * width + x] += w
                        for c in 0..<3 { output[c * plane + y * width + x] += w * merged[(c * ph + j) * pw + i] }
                    }
                }
            }
        }
        for i in 0..<plane where total[i] != 1 {
            for c in 0..<3 { output[c * plane + i] /= total[i] }
        }
    }

    /// Runs the network on one region of the frames, zero-padded to the alignment; `read` sees the
    /// merged 3×ph×pw output whose top-left rw×rh pixels are the region's.
    private func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, width: Int, height: Int, region: (x: Range<Int>, y: Range<Int>),
                     read: (UnsafePointer<Float>, Int, Int) throws -> Void) throws {
        let (rw, rh) = (region.x.count, region.y.count)
        let (pw, ph) = paddedSize(width: rw, height: rh)
        let shape = [1, 3, ph, pw]
        try executor.run(inputShapes: [shape, shape], fill: { i, buffer in
            let src = i == 0 ? a : b
            if pw != rw || ph != rh { buffer.update(repeating: 0) }
            for c in 0..<3 {
                for (j, y) in region.y.enumerated() {
                    (buffer.baseAddress! + (c * ph + j) * pw).update(from: src + (c * height + y) * width + region.x.lowerBound, count: rw)
                }
            }
        }, read: { outputs, _ in try read(outputs[0].baseAddress!, pw, ph) })
    }
}
