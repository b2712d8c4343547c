import Core
import Media

/// FFmpeg's motion-compensated interpolation (`minterpolate`, mi_mode=mci) through libavfilter:
/// the best classical in-betweens. The chunk runs on a normalised timeline (frame i at time i), the
/// filter renders `steps` outputs per interval, and each sample takes the rendering at its position.
/// Positions that are not multiples of 1/steps (target-rate mode) use the nearest one; `steps` is 8
/// for those, so the error is at most 1/16 of a frame interval.
public struct MotionCompensatedInterpolator: Interpolator {
    public let width: Int
    public let height: Int
    public let pixelFormat: String

    public init(width: Int, height: Int, pixelFormat: String) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
    }

    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> [VideoFrame] {
        let synth = samples.filter { !$0.isRealFrame }
        let steps = Self.steps(for: synth.map(\.position))
        var rendered: [Int64: VideoFrame] = [:]
        if !synth.isEmpty {
            let lastNeeded = synth.map { $0.left + 1 }.max()!
            guard lastNeeded < frames.count else { throw EnhanceError.invalidInput("in-between after the last frame needs a lookahead frame") }
            // scd=none: scene cuts are handled by the planner's samples, not by the filter.
            let graph = try FilterGraph(filters: "minterpolate=fps=\(steps):mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none",
                                        width: width, height: height, pixelFormat: pixelFormat, timeBase: Rational(1, 1))
            let wanted = Set(synth.map { Int64($0.left * steps) + Int64(($0.position * Double(steps)).rounded()) })
            let tbRatio = graph.outputTimeBase * Rational(Int64(steps), 1)
            func collect() throws {
                for f in try graph.pull() {
                    let j = f.pts * tbRatio.num / tbRatio.den
                    if wanted.contains(j) { rendered[j] = f }
                }
            }
            for i in 0...lastNeeded {
                var f = frames[i]
                f.pts = Int64(i)
                try graph.push(f)
                try collect()
            }
            // minterpolate emits nothing for the last interval unless the last input is repeated.
            var repeatLast = frames[lastNeeded]
            repeatLast.pts = Int64(lastNeeded + 1)
            try graph.push(repeatLast)
            try graph.finish()
            try collect()
        }
        return try samples.map { s in
            if s.isRealFrame {
                guard s.sourceIndex < frames.count else { throw EnhanceError.invalidInput("sample needs frame \(s.sourceIndex) of \(frames.count)") }
                var f = frames[s.sourceIndex]
                f.pts = s.pts
                return f
            }
            let j = Int64(s.left * steps) + Int64((s.position * Double(steps)).rounded())
            let snapped = j % Int64(steps) == 0 ? Int(j / Int64(steps)) : nil
            if let snapped {
                var f = frames[snapped]
                f.pts = s.pts
                return f
            }
            guard var f = rendered[j] else { throw EnhanceError.invalidInput("minterpolate produced no frame at \(j)/\(steps)") }
            f.pts = s.pts
            return f
        }
    }

    /// Smallest of 2, 4, 8 on whose grid every position lies; 8 otherwise.
    static func steps(for positions: [Double]) -> Int {
        for n in [2, 4, 8] where positions.allSatisfy({ abs($0 * Double(n) - ($0 * Double(n)).rounded()) < 1e-9 }) { return n }
        return 8
    }
}
