import Core
import Foundation
import Media

/// Frame interpolation with RIFE HDv3 on our runtime. The network makes the frame halfway between
/// two frames; positions k/2ⁿ (×2, ×4, ×8 … slow motion, up to 1/64) come from recursive bisection
/// (¼ = middle of 0 and ½, …), memoised per interval so every in-between of an interval shares the
/// frames it needs. Other positions (target rates: 25 → 60, 23.976 → 59.94, 24 → 30 fps) cross-fade
/// the two points of the 1/2^`depth` grid around them (default: quarters). Measured by dropping and
/// restoring frames at ⅓ and ⅔ (`reframe bench interpolate --keep 3`), that beat snapping to the
/// nearest quarter, eighth or sixteenth on both clips while running fewer inferences.
public final class NeuralInterpolator: Interpolator, @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let depth: Int
    public let offGrid: OffGridPositions
    private let network: RIFENetwork
    private let toRGB: FrameScaler?
    private let fromRGB: FrameScaler?
    private let pixelFormat: String

    /// What a position off the 1/2ⁿ grid gets.
    public enum OffGridPositions: Sendable {
        /// The nearest point of the 1/2^depth grid.
        case nearest
        /// A cross-fade of the two points of the 1/2^depth grid around it (the default).
        case blend
    }

    /// Finest bisection made for positions that are exactly on it (1/64: ×64 slow motion).
    static let maxDepth = 6

    public init(width: Int, height: Int, pixelFormat: String, depth: Int = 2, offGrid: OffGridPositions = .blend,
                store: ModelStore = ModelStore(), runtime: NeuralRuntimeOptions = .fromEnvironment()) throws {
        guard (1...6).contains(depth) else { throw EnhanceError.invalidInput("bisection depth must be 1…6, got \(depth)") }
        self.width = width
        self.height = height
        self.depth = depth
        self.offGrid = offGrid
        self.pixelFormat = pixelFormat
        network = try RIFENetwork.shared(store: store, scale: Self.networkScale(width: width, height: height), options: runtime)
        let rgb = (width, height, "rgb24")
        toRGB = pixelFormat == "rgb24" ? nil : try FrameScaler(from: (width, height, pixelFormat), to: rgb, filter: .bilinear)
        fromRGB = pixelFormat == "rgb24" ? nil : try FrameScaler(from: rgb, to: (width, height, pixelFormat), filter: .bilinear)
    }

    /// The reference's user scale: flow estimated at full resolution up to 1080p, at half above
    /// (what RIFE's authors recommend for 4K), so the coarsest level still sees the large motions.
    static func networkScale(width: Int, height: Int) -> Double {
        width * height > 1920 * 1088 ? 0.5 : 1
    }

    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> [VideoFrame] {
        try interpolate(frames: frames, samples: samples) { _ in }
    }

    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample], madeFrames: (Int) -> Void) throws -> [VideoFrame] {
        for f in frames where f.width != width || f.height != height {
            throw EnhanceError.invalidInput("frame is \(f.width)×\(f.height), interpolator was built for \(width)×\(height)")
        }
        var interval = Interval(left: -1)
        var made = 0
        return try samples.map { s in
            defer {
                made += 1
                madeFrames(made)
            }
            // Point n/grid, and the fraction of the way to the next point that a cross-fade adds.
            let (n, grid, fraction) = gridPosition(s.position)
            if s.isRealFrame || (fraction == 0 && (n == 0 || n == grid)) {
                let index = s.isRealFrame ? s.sourceIndex : s.left + (n == grid ? 1 : 0)
                guard index < frames.count else { throw EnhanceError.invalidInput("sample needs frame \(index) of \(frames.count)") }
                var f = frames[index]
                f.pts = s.pts
                return f
            }
            guard s.left + 1 < frames.count else { throw EnhanceError.invalidInput("in-between after the last frame needs a lookahead frame") }
            if interval.left != s.left {
                // Samples come in order: the previous interval's right frame is this one's left.
                let reuse = interval.left + 1 == s.left ? interval.points[Fraction(1, 1)] : nil
                interval = Interval(left: s.left)
                interval.points[Fraction(0, 1)] = try reuse ?? planar(frames[s.left])
                interval.points[Fraction(1, 1)] = try planar(frames[s.left + 1])
            }
            var image = try point(Fraction(n, grid), in: &interval)
            if fraction > 0 {
                let next = try point(Fraction(n + 1, grid), in: &interval), w = Float(fraction)
                for i in image.indices { image[i] += w * (next[i] - image[i]) }
            }
            var out = try frame(from: image)
            out.pts = s.pts
            return out
        }
    }

    /// Where a position falls: on the dyadic grid exactly (up to 1/2^maxDepth), else on the
    /// 1/2^depth grid, snapped or with the fraction towards the next point.
    func gridPosition(_ position: Double) -> (n: Int, grid: Int, fraction: Double) {
        for level in 0...Self.maxDepth {
            let scaled = position * Double(1 << level)
            if abs(scaled - scaled.rounded()) < 1e-6 { return (Int(scaled.rounded()), 1 << level, 0) }
        }
        let grid = 1 << depth, scaled = position * Double(grid)
        switch offGrid {
        case .nearest: return (Int(scaled.rounded()), grid, 0)
        case .blend: return (Int(scaled.rounded(.down)), grid, scaled - scaled.rounded(.down))
        }
    }

    /// The image at `t` within the interval, made by bisection from its two grid neighbours.
    private func point(_ t: Fraction, in interval: inout Interval) throws -> [Float] {
        if let p = interval.points[t] { return p }
        let a = try point(Fraction(t.numerator - 1, t.denominator), in: &interval)
        let b = try point(Fraction(t.numerator + 1, t.denominator), in: &interval)
        var out = [Float](repeating: 0, count: 3 * width * height)
        try out.withUnsafeMutableBufferPointer { o in
            try network.middle(a, b, width: width, height: height, output: o.baseAddress!)
        }
        interval.points[t] = out
        return out
    }

    private func planar(_ frame: VideoFrame) throws -> [Float] {
        let rgb = try toRGB?.scale(frame) ?? frame
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        rgb.data.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { PlanarRGB.unpack(src, into: $0, pixels: plane) } }
        return out
    }

    private func frame(from planar: [Float]) throws -> VideoFrame {
        let plane = width * height
        var packed = [UInt8](repeating: 0, count: 3 * plane)
        planar.withUnsafeBufferPointer { src in packed.withUnsafeMutableBufferPointer { PlanarRGB.pack(src, into: $0, pixels: plane) } }
        let rgb = VideoFrame(width: width, height: height, pixelFormat: "rgb24", data: packed, pts: 0)
        return try fromRGB?.scale(rgb) ?? rgb
    }

    /// The frames made so far between source frames `left` and `left + 1`, by position.
    private struct Interval {
        var left: Int
        var points: [Fraction: [Float]] = [:]
    }
}

/// A position on the bisection grid, kept in lowest terms so ½ and 4/8 are one key.
struct Fraction: Hashable {
    let numerator: Int
    let denominator: Int

    init(_ n: Int, _ d: Int) {
        var (a, b) = (n, d)
        while b != 0 { (a, b) = (b, a % b) }
        let g = Swift.max(abs(a), 1)
        numerator = n / g
        denominator = d / g
    }
}
