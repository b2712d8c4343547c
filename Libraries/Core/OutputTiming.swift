/// How output timestamps derive from source timestamps (DESIGN.md §3 "Timestamps").
///
/// Factor mode: each source frame i yields `factor` output frames. Output pts of the k-th frame after
/// source frame i is `pts_i·F + k·(pts_{i+1} − pts_i)` — exact integers. Smooth mode reads them in
/// `timeBase / F` (duration kept), slow motion in `timeBase` (duration × F). The last source frame is
/// followed by F−1 held copies so that every source frame keeps its full display time: N source frames
/// give exactly F·N output frames and the duration is exactly preserved (or exactly ×F).
///
/// Target-rate mode: output frames sit on the grid `start + k/fps`, each made from the two source
/// frames around it; count = frames whose grid time falls before the source end.
public struct OutputTiming: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case passthrough, factor, targetRate }

    public var kind: Kind
    public var factor: Int
    public var targetRate: Rational?
    public var slowMotion: Bool
    /// Source time base.
    public var sourceTimeBase: Rational
    public var sourceStartPts: Int64

    public init(kind: Kind, factor: Int = 1, targetRate: Rational? = nil, slowMotion: Bool = false,
                sourceTimeBase: Rational, sourceStartPts: Int64) {
        self.kind = kind
        self.factor = factor
        self.targetRate = targetRate
        self.slowMotion = slowMotion
        self.sourceTimeBase = sourceTimeBase
        self.sourceStartPts = sourceStartPts
    }

    /// Time base of output timestamps.
    public var outputTimeBase: Rational {
        switch kind {
        case .passthrough: return sourceTimeBase
        case .factor: return slowMotion ? sourceTimeBase : Rational(sourceTimeBase.num, sourceTimeBase.den * Int64(factor))
        case .targetRate: return targetRate!.inverse
        }
    }

    /// Nominal output frame rate for the encoder (rate control) and container.
    public func outputFrameRate(sourceRate: Rational) -> Rational {
        switch kind {
        case .passthrough: return sourceRate
        case .factor: return slowMotion ? sourceRate : sourceRate * Rational(Int64(factor), 1)
        case .targetRate: return targetRate!
        }
    }

    /// One output frame: made from source frame `left` and its successor at fraction `position`
    /// (0 = exactly `left`, 1 = exactly the successor).
    public struct Sample: Equatable, Sendable {
        public var pts: Int64
        public var left: Int
        public var position: Double
        public init(pts: Int64, left: Int, position: Double) {
            self.pts = pts
            self.left = left
            self.position = position
        }
    }

    /// The output frames one chunk produces.
    /// - Parameters:
    ///   - pts: source pts of the chunk's own frames (lookahead excluded).
    ///   - nextPts: pts of the following frame (the lookahead), or the source end for the last chunk.
    ///   - hasNext: whether a real following frame exists (false: hold the last frame).
    ///   - sceneCuts: `sceneCuts[i]` is true when frame i+1 (the lookahead for the last i) starts a new scene.
    public func samples(pts: [Int64], nextPts: Int64, hasNext: Bool, sceneCuts: [Bool]) -> [Sample] {
        var out: [Sample] = []
        switch kind {
        case .passthrough:
            return pts.enumerated().map { Sample(pts: $1, left: $0, position: 0) }
        case .factor:
            out.reserveCapacity(pts.count * factor)
            for (i, p) in pts.enumerated() {
                let next = i + 1 < pts.count ? pts[i + 1] : nextPts
                let isLastHeld = i + 1 == pts.count && !hasNext
                let cut = i < sceneCuts.count && sceneCuts[i]
                let step = next - p
                for k in 0..<factor {
                    let position = Double(k) / Double(factor)
                    out.append(Sample(pts: p * Int64(factor) + Int64(k) * step, left: i,
                                      position: Self.adjust(position, cut: cut, held: isLastHeld)))
                }
            }
        case .targetRate:
            guard let first = pts.first else { return [] }
            // Output frame duration in source ticks, exact: step = num/den.
            let step = targetRate!.inverse / sourceTimeBase
            // Grid time k is start + k·step; the chunk owns grid times in [first, nextPts).
            var k = Self.ceilDiv(Int128(first - sourceStartPts) * Int128(step.den), Int128(step.num))
            var i = 0
            while Int128(k) * Int128(step.num) < Int128(nextPts - sourceStartPts) * Int128(step.den) {
                let t = Double(sourceStartPts) + Double(k) * step.double
                while i + 1 < pts.count && Double(pts[i + 1]) <= t { i += 1 }
                let right = i + 1 < pts.count ? pts[i + 1] : nextPts
                let isLastHeld = i + 1 == pts.count && !hasNext
                let position = right > pts[i] ? min(max((t - Double(pts[i])) / Double(right - pts[i]), 0), 1) : 0
                let cut = i < sceneCuts.count && sceneCuts[i]
                out.append(Sample(pts: k, left: i, position: Self.adjust(position, cut: cut, held: isLastHeld)))
                k += 1
            }
        }
        return out
    }

    /// At a scene cut the in-between repeats the nearer real frame; past the last frame it holds it.
    static func adjust(_ position: Double, cut: Bool, held: Bool) -> Double {
        if held { return 0 }
        if cut { return position < 0.5 ? 0 : 1 }
        return position
    }

    private static func ceilDiv(_ n: Int128, _ d: Int128) -> Int64 {
        Int64(n >= 0 ? (n + d - 1) / d : -((-n) / d))
    }

    /// Total output frames for a source of `sourceFrames` frames spanning [startPts, endPts).
    public func expectedFrameCount(sourceFrames: Int, startPts: Int64, endPts: Int64) -> Int {
        switch kind {
        case .passthrough: return sourceFrames
        case .factor: return sourceFrames * factor
        case .targetRate:
            // Grid times start + k·step with k ≥ 0 that fall before endPts.
            let step = targetRate!.inverse / sourceTimeBase
            let span = Int128(endPts - startPts) * Int128(step.den)
            return Int((span + Int128(step.num) - 1) / Int128(step.num))
        }
    }
}
