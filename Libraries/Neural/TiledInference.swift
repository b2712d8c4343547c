import Foundation

/// How an image model maps input pixels to output pixels, which is all tiling needs to know.
public struct TilingGeometry: Sendable, Equatable {
    /// Output pixels per input pixel.
    public var scale: Int
    /// Mirror padding added around the whole image before inference (and cropped after).
    public var prepadding: Int
    /// True when the network has no padding of its own, so its output is `scale·(input − 2·prepadding)`.
    public var valid: Bool
    /// Extra input context each tile reads on every side (same-padded networks), so seams vanish.
    public var context: Int

    public init(scale: Int, prepadding: Int, valid: Bool, context: Int) {
        self.scale = scale
        self.prepadding = prepadding
        self.valid = valid
        self.context = context
    }
}

/// Runs an image-to-image graph over a planar RGB float image of any size in overlapping tiles.
/// The image is mirror-padded as the reference applications do; each tile reads its context from
/// the neighbours, so the stitched output matches an untiled run.
public final class TiledInference: @unchecked Sendable {
    public let executor: Executor
    public let geometry: TilingGeometry
    /// Upper bound on the executor's working memory (activations + weights) for one tile.
    public let memoryBudget: Int
    private let lock = NSLock()
    private var tileSideCache: Int?

    public init(executor: Executor, geometry: TilingGeometry, memoryBudget: Int = 1 << 30) {
        self.executor = executor
        self.geometry = geometry
        self.memoryBudget = memoryBudget
    }

    /// The largest square tile (in output-region input pixels) whose inference fits the budget,
    /// from the executor's measured footprint at a probe size (footprint grows with area).
    public func tileSide() throws -> Int {
        try lock.withLock {
            if let s = tileSideCache { return s }
            let halo = 2 * (geometry.prepadding + geometry.context)
            let probe = 96
            let side = probe + halo
            let bytes = try executor.memoryFootprint(inputShape: [1, 3, side, side])
            let perPixel = Double(bytes) / Double(side * side)
            let fit = Int((Double(memoryBudget) / perPixel).squareRoot()) - halo
            let s = max(32, fit)
            tileSideCache = s
            return s
        }
    }

    /// `input` is 3×H×W planar floats; `output` receives 3×(scale·H)×(scale·W).
    public func run(input: UnsafePointer<Float>, width: Int, height: Int, output: UnsafeMutablePointer<Float>, tileSide: Int? = nil) throws {
        let g = geometry, s = g.scale, p = g.prepadding
        let c = g.valid ? 0 : g.context
        let side = try tileSide ?? self.tileSide()
        let cols = (width + side - 1) / side, rows = (height + side - 1) / side
        let paddedW = width + 2 * p, paddedH = height + 2 * p
        let outW = width * s, outH = height * s
        for ty in 0..<rows {
            // Near-equal tiles so a frame needs at most four plan shapes.
            let y0 = ty * height / rows, y1 = (ty + 1) * height / rows
            let ry0 = max(0, y0 - c), ry1 = min(paddedH, y1 + 2 * p + c)
            for tx in 0..<cols {
                let x0 = tx * width / cols, x1 = (tx + 1) * width / cols
                let rx0 = max(0, x0 - c), rx1 = min(paddedW, x1 + 2 * p + c)
                let rw = rx1 - rx0, rh = ry1 - ry0
                let xMap = (rx0..<rx1).map { HostKernels.borderIndex($0 - p, width, .reflect)! }
                let yMap = (ry0..<ry1).map { HostKernels.borderIndex($0 - p, height, .reflect)! }
                try executor.run(inputShape: [1, 3, rh, rw], fill: { buffer in
                    let dst = buffer.baseAddress!
                    for ch in 0..<3 {
                        let plane = input + ch * width * height
                        for y in 0..<rh {
                            let row = plane + yMap[y] * width, out = dst + (ch * rh + y) * rw
                            for x in 0..<rw { out[x] = row[xMap[x]] }
                        }
                    }
                }, read: { result, shape in
                    let netW = shape[3], netH = shape[2]
                    let shift = g.valid ? p : 0
                    let ox = s * (x0 + p - rx0 - shift), oy = s * (y0 + p - ry0 - shift)
                    let copyW = s * (x1 - x0), copyH = s * (y1 - y0)
                    guard shape[1] == 3, ox >= 0, oy >= 0, ox + copyW <= netW, oy + copyH <= netH else {
                        throw NeuralError.shapeMismatch("tile output \(shape) does not cover the expected \(copyW)×\(copyH) region at (\(ox), \(oy))")
                    }
                    for ch in 0..<3 {
                        for y in 0..<copyH {
                            let src = result.baseAddress! + (ch * netH + oy + y) * netW + ox
                            let dst = output + (ch * outH + s * y0 + y) * outW + s * x0
                            dst.update(from: src, count: copyW)
                        }
                    }
                })
            }
        }
    }
}
