import Core
import Media

/// FFmpeg's motion-compensated interpolation (`minterpolate`, mi_mode=mci) through libavfilter:
/// the best classical in-betweens.
///
/// minterpolate renders its output grid (`fps`) on its input's timeline: an output at time t between
/// inputs at t1 < t2 gets the weight alpha = ⌊1024·(t − t1)/(t2 − t1)⌋ (0 or 1024: a copy). We stamp
/// the chunk's frames so that this grid falls exactly on the instants the samples need and nowhere
/// else inside an interval, so the filter renders each needed in-between once and nothing more
/// (`MCITimeline` has the details). Its outputs map back to the samples by pts.
///
/// Samples at position 0 or 1 (scene cuts, held frames, the real frames) take the real frame, as do
/// positions so close to 0 or 1 that minterpolate's weight would be 0 or 1024.
public struct MotionCompensatedInterpolator: Interpolator {
    public let width: Int
    public let height: Int
    public let pixelFormat: String
    public let threads: Int

    /// minterpolate's options after `fps=`; scd=none: scene cuts are handled by the planner's samples.
    public static let filterOptions = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none"

    public init(width: Int, height: Int, pixelFormat: String, threads: Int = 0) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.threads = threads
    }

    /// What one call asked of minterpolate.
    struct Report: Equatable, Sendable {
        /// Distinct in-between instants the samples needed.
        var needed = 0
        /// Frames the filter emitted.
        var emitted = 0
        /// Of those, the frames it interpolated (strictly inside an interval, weight neither 0 nor
        /// 1024); the others are plain copies of an input frame.
        var interpolated = 0
        /// False when the samples shared no small lattice (variable frame rate sources) and positions
        /// were snapped to eighths of an interval.
        var exactPositions = true
    }

    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> [VideoFrame] {
        try interpolateReporting(frames: frames, samples: samples).frames
    }

    func interpolateReporting(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> (frames: [VideoFrame], report: Report) {
        // In-betweens to render: (left, position) with minterpolate's weight strictly between 0 and 1024.
        var synth: [MCITimeline.InBetween] = []
        var synthOf: [Int?] = []
        for s in samples {
            guard s.left >= 0, s.left < frames.count else { throw EnhanceError.invalidInput("sample refers to frame \(s.left) of \(frames.count)") }
            if !s.isRealFrame {
                guard s.left + 1 < frames.count else { throw EnhanceError.invalidInput("in-between after the last frame needs a lookahead frame") }
                let weight = (s.position * 1024).rounded()
                if weight > 0 && weight < 1024 {
                    synthOf.append(synth.count)
                    synth.append(MCITimeline.InBetween(left: s.left, position: s.position, pts: s.pts))
                    continue
                }
            }
            synthOf.append(nil)
        }
        var report = Report()
        var picks: [MCITimeline.Pick] = []
        var rendered: [Int64: VideoFrame] = [:]
        if !synth.isEmpty {
            let timeline = try MCITimeline(synth, framePts: frames.map(\.pts))
            picks = timeline.picks
            report.exactPositions = timeline.exactPositions
            var wanted = Set<Int64>()
            for case .output(let pts) in picks { wanted.insert(pts) }
            report.needed = wanted.count
            if !wanted.isEmpty {
                let graph = try FilterGraph(filters: "minterpolate=fps=1:\(Self.filterOptions)", width: width, height: height,
                                            pixelFormat: pixelFormat, timeBase: Rational(1, timeline.grid), threads: threads)
                guard graph.outputTimeBase == Rational(1, 1) else {
                    throw EnhanceError.invalidInput("minterpolate output time base \(graph.outputTimeBase), expected 1/1")
                }
                func collect() throws {
                    for f in try graph.pull() {
                        report.emitted += 1
                        if timeline.isInterpolated(outputPts: f.pts) { report.interpolated += 1 }
                        if wanted.contains(f.pts) { rendered[f.pts] = f }
                    }
                }
                for (i, pts) in timeline.ticks.enumerated() {
                    // The last tick repeats the last frame: minterpolate emits an interval only once the
                    // frame after it has arrived (and nothing at the end of input).
                    var f = frames[min(i, timeline.lastFrame)]
                    f.pts = pts
                    try graph.push(f)
                    try collect()
                }
                try graph.finish()
                try collect()
            }
        }
        let out = try samples.enumerated().map { n, s in
            var f: VideoFrame
            if let k = synthOf[n] {
                switch picks[k] {
                case .frame(let index): f = frames[index]
                case .output(let pts):
                    guard let r = rendered[pts] else { throw EnhanceError.invalidInput("minterpolate produced no frame at \(s.left) + \(s.position)") }
                    f = r
                }
            } else {
                // Positions 0 and 1, or within 1/2048 of them: the real frame (what minterpolate copies).
                let index = s.position < 0.5 ? s.left : s.left + 1
                guard index < frames.count else { throw EnhanceError.invalidInput("sample needs frame \(index) of \(frames.count)") }
                f = frames[index]
            }
            f.pts = s.pts
            return f
        }
        return (out, report)
    }
}

/// The timestamps that make minterpolate's output grid land on a chunk's in-betweens.
///
/// * Positions become exact fractions n/d (they are computed from integer timestamps). On a timeline
///   with D = lcm(d) units per frame interval, in-between s sits at U = left·D + n·D/d. For a
///   constant-rate source at a rational target rate these U form a lattice U₀ + g·ℤ (25 → 60 fps:
///   D = 12, g = 5, the positions repeat every 5 frames); in factor mode D = factor, g = 1. The
///   filter's grid period is g units.
/// * Ticks: one frame interval is L ticks and the grid period G = g·L/D ticks; the filter reads pts in
///   1/G and renders at fps=1, so its output pts k is tick k·G. Frame i sits at i·L + c − L/2048, where
///   c puts U₀ on the grid. The L/2048 (L = lcm(D, 2048)) turns the filter's floor into rounding:
///   alpha = round(1024·position), exactly what the ffmpeg CLI computes for a source whose time base
///   is its frame duration (raw video at -r 25, say). Where flooring already gives that (factor
///   modes: 1024·k/F is whole) there is no offset and L = D.
/// * A variable-rate source at a target rate has no such lattice (each interval has its own length).
///   Then the frames sit at their own timestamps, scaled so that the target frame duration is a whole
///   G ticks — the CLI's own view of such a source (alpha floors there, as in the CLI) — after checking
///   that this puts every in-between exactly where its sample says.
/// * Intervals with no in-between (scene cuts, held frames, intervals before the first in-between)
///   are squeezed to a few ticks, placed so that no grid point falls strictly inside one; a frame may
///   sit on a grid point, whose output is then a copy. So the filter interpolates exactly the needed
///   instants (plus, rarely, one point in a lone squeezed interval whose phase leaves no room).
/// * Should neither fit, positions snap to eighths of an interval, as this interpolator always did.
struct MCITimeline {
    struct InBetween {
        var left: Int
        var position: Double
        /// The sample's output pts (target-rate mode: its index on the output grid).
        var pts: Int64
    }

    enum Pick: Hashable { case output(Int64), frame(Int) }

    /// Grid period in ticks (the filter's input time base is 1/grid).
    let grid: Int64
    /// Input pts of frames 0…lastFrame, then of the last frame repeated.
    let ticks: [Int64]
    let lastFrame: Int
    /// Per in-between: the filter output (pts) that is its picture, or a real frame (snapped positions only).
    let picks: [Pick]
    let exactPositions: Bool

    /// - Parameter framePts: the chunk's frame timestamps (used only for variable-rate sources, and
    ///   only if they agree exactly with the samples' positions).
    init(_ samples: [InBetween], framePts: [Int64] = []) throws {
        if let t = Self.lattice(samples, snapToEighths: false).flatMap({ Self.build(samples, $0) }) {
            self = t
        } else if let t = Self.realTime(samples, framePts: framePts) {
            self = t
        } else if let t = Self.lattice(samples, snapToEighths: true).flatMap({ Self.build(samples, $0) }) {
            self = t
        } else {
            throw EnhanceError.invalidInput("no minterpolate timeline for these samples")
        }
    }

    private init(grid: Int64, ticks: [Int64], lastFrame: Int, picks: [Pick], exactPositions: Bool) {
        self.grid = grid
        self.ticks = ticks
        self.lastFrame = lastFrame
        self.picks = picks
        self.exactPositions = exactPositions
    }

    /// Whether the filter output with this pts is strictly inside an input interval with a weight
    /// other than 0 and 1024, i.e. was interpolated rather than copied.
    func isInterpolated(outputPts: Int64) -> Bool {
        let x = outputPts * grid
        var lo = 0, hi = lastFrame  // find i with ticks[i] < x < ticks[i+1], i < lastFrame
        guard lastFrame > 0, x > ticks[0], x < ticks[lastFrame] else { return false }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if ticks[mid] < x { lo = mid } else { hi = mid }
        }
        guard ticks[lo] < x, x < ticks[lo + 1] else { return false }
        let alpha = 1024 * (x - ticks[lo]) / (ticks[lo + 1] - ticks[lo])
        return alpha > 0 && alpha < 1024
    }

    // MARK: lattice (constant rate, factor modes)

    /// Unit positions on a normalised timeline: D units per interval; `u` nil where a snapped position
    /// is a real frame.
    struct Lattice {
        var units: Int64
        var u: [Int64?]
        var exact: Bool
    }

    static func lattice(_ samples: [InBetween], snapToEighths: Bool) -> Lattice? {
        if snapToEighths {
            return Lattice(units: 8, u: samples.map { s in
                let n = Int64((s.position * 8).rounded())
                return n <= 0 || n >= 8 ? nil : Int64(s.left) * 8 + n
            }, exact: false)
        }
        var fractions: [(Int64, Int64)] = []
        var units: Int64 = 1
        for s in samples {
            guard let f = fraction(s.position, maxDenominator: 10_000) else { return nil }
            fractions.append(f)
            units = units / gcd(units, f.1) * f.1
            guard units <= 1 << 20 else { return nil }
        }
        return Lattice(units: units, u: zip(samples, fractions).map { s, f in Int64(s.left) * units + f.0 * (units / f.1) }, exact: true)
    }

    /// Places the frames for one lattice; nil when it would make the filter render far more than the
    /// samples need, or the numbers grow too large.
    static func build(_ samples: [InBetween], _ lattice: Lattice) -> MCITimeline? {
        let d = lattice.units
        let us = lattice.u.compactMap { $0 }
        let needed = Set(us)
        guard let u0 = us.first else {
            // Every position snapped to a real frame: nothing to render.
            return MCITimeline(grid: 1, ticks: [], lastFrame: 0, picks: samples.map { .frame($0.position < 0.5 ? $0.left : $0.left + 1) },
                               exactPositions: lattice.exact)
        }
        let lastFrame = Int(us.max()! / d) + 1
        // Lattice period: the gcd of the differences; a single instant gets a period past the chunk's end.
        var g: Int64 = 0
        for u in us { g = gcd(g, u - u0) }
        if g == 0 { g = d * Int64(lastFrame + 2) }
        // Intervals holding an in-between, and the lattice points strictly inside them (all rendered).
        var synthInterval = [Bool](repeating: false, count: lastFrame)
        for u in us { synthInterval[Int(u / d)] = true }
        func inside(_ period: Int64) -> Int {
            var n = 0
            for i in 0..<lastFrame where synthInterval[i] {
                let lo = Int64(i) * d + 1, hi = Int64(i + 1) * d - 1
                let first = lo + mod(u0 - lo, period)
                if first <= hi { n += Int((hi - first) / period) + 1 }
            }
            return n
        }
        let rendered = inside(g)
        if lattice.exact && rendered > needed.count + needed.count / 4 { return nil }
        // A finer period that adds only the frame instants (copies; ×2: g = 2 units → 1) puts every
        // frame on the grid, so even a lone squeezed interval needs no grid point inside it.
        let fine = gcd(gcd(g, d), u0)
        if fine < g && inside(fine) == rendered { g = fine }

        // minterpolate floors 1024·position; where that differs from rounding, frames sit L/2048 early.
        let rounds = needed.contains { u in 2 * mod(1024 * mod(u, d), d) >= d }
        let q = rounds ? 2048 / gcd(d, 2048) : 1  // ticks per unit
        let l = d * q                             // ticks per frame interval
        let shift = rounds ? l / 2048 : 0
        let gridTicks = g * q
        guard gridTicks <= 1 << 30, l <= 1 << 30 else { return nil }
        let c = mod(-q * u0, gridTicks)
        let ticks = place(synthInterval: synthInterval, grid: gridTicks, base: { Int64($0) * l + c - shift }, length: { _ in l })
        var picks: [Pick] = []
        for (s, u) in zip(samples, lattice.u) {
            guard let u else {
                picks.append(.frame(s.position < 0.5 ? s.left : s.left + 1))
                continue
            }
            let left = Int(u / d)
            let x = ticks[left] + shift + q * (u - Int64(left) * d)
            guard mod(x, gridTicks) == 0 else { return nil }
            picks.append(.output(x / gridTicks))
        }
        return MCITimeline(grid: gridTicks, ticks: ticks + [ticks[lastFrame] + l], lastFrame: lastFrame, picks: picks, exactPositions: lattice.exact)
    }

    // MARK: real time (variable-rate sources at a target rate)

    /// Frames at their own timestamps ×den, the grid every `num` ticks where the output frame lasts
    /// num/den source ticks; nil unless every in-between then lands exactly on its sample.
    static func realTime(_ samples: [InBetween], framePts: [Int64]) -> MCITimeline? {
        let lastFrame = samples.map(\.left).max()! + 1
        guard framePts.count > lastFrame, samples.count >= 2 else { return nil }
        let tau = Array(framePts[0...lastFrame])
        guard zip(tau, tau.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        func instant(_ s: InBetween) -> Double { Double(tau[s.left]) + s.position * Double(tau[s.left + 1] - tau[s.left]) }
        guard let a = samples.min(by: { $0.pts < $1.pts }), let b = samples.max(by: { $0.pts < $1.pts }), b.pts > a.pts else { return nil }
        // The output frame duration in source ticks, num/den, and the grid's start ×den.
        guard let (num, den) = fraction((instant(b) - instant(a)) / Double(b.pts - a.pts), maxDenominator: 100_000),
              num > 0, num <= 1 << 30 else { return nil }
        let startDen = (instant(a) * Double(den) - Double(a.pts) * Double(num)).rounded()
        guard abs(startDen) < 1e15, tau.allSatisfy({ abs($0) < (1 << 40) / den }) else { return nil }
        let start = Int64(startDen)
        var synthInterval = [Bool](repeating: false, count: lastFrame)
        var offsets: [Int64] = []
        for s in samples {
            let t = start + s.pts * num, lo = tau[s.left] * den, hi = tau[s.left + 1] * den
            guard lo < t, t < hi, abs(Double(t - lo) / Double(hi - lo) - s.position) < 1e-9 else { return nil }
            synthInterval[s.left] = true
            offsets.append(t - lo)
        }
        // Every grid point inside an interval with in-betweens is rendered: they must be the samples.
        var inside = 0
        for i in 0..<lastFrame where synthInterval[i] {
            let lo = tau[i] * den, hi = tau[i + 1] * den
            inside += Int(floorDiv(hi - 1 - start, num) - floorDiv(lo - start, num))
        }
        guard inside <= Set(samples.map(\.pts)).count + 1 else { return nil }
        let phase = mod(-start, num)
        let ticks = place(synthInterval: synthInterval, grid: num, base: { tau[$0] * den + phase },
                          length: { (tau[$0 + 1] - tau[$0]) * den })
        var picks: [Pick] = []
        for (s, offset) in zip(samples, offsets) {
            let x = ticks[s.left] + offset
            guard mod(x, num) == 0 else { return nil }
            picks.append(.output(x / num))
        }
        return MCITimeline(grid: num, ticks: ticks + [ticks[lastFrame] + 1], lastFrame: lastFrame, picks: picks, exactPositions: true)
    }

    // MARK: placement

    /// Stamps for frames 0…synthInterval.count. Where interval i holds in-betweens, frame i sits at
    /// base(i) plus a multiple of `grid` and frame i+1 `length(i)` later; intervals without any are
    /// squeezed (see `squeeze`); frames before the first in-between go one tick apart. All stamps ≥ 0.
    static func place(synthInterval: [Bool], grid: Int64, base: (Int) -> Int64, length: (Int) -> Int64) -> [Int64] {
        let lastFrame = synthInterval.count
        var ticks = [Int64](repeating: 0, count: lastFrame + 1)
        let a0 = synthInterval.firstIndex(of: true)!
        let start = base(a0)
        ticks[a0] = start + grid * max(0, ceilDiv(Int64(a0) - start, grid))
        for j in 0..<a0 { ticks[j] = ticks[a0] - Int64(a0 - j) }
        var i = a0
        while i < lastFrame {
            if synthInterval[i] {
                ticks[i + 1] = ticks[i] + length(i)
                i += 1
            } else {
                var a = i
                while !synthInterval[a] { a += 1 }  // the last interval holds an in-between
                let placed = squeeze(from: ticks[i], count: a - i, residue: mod(base(a), grid), grid: grid)
                for (j, t) in placed.enumerated() { ticks[i + 1 + j] = t }
                i = a
            }
        }
        return ticks
    }

    /// Stamps for `count` frames after a frame at `x` whose intervals need no in-between: increasing,
    /// the last ≡ `residue` (mod `grid`), and no grid point strictly between two of them where it can
    /// be avoided (frames are put on the grid points in range; a copy there costs nothing).
    static func squeeze(from x: Int64, count k: Int, residue: Int64, grid: Int64) -> [Int64] {
        let end = x + Int64(k) + mod(residue - x - Int64(k), grid)
        let points = Array(stride(from: (x / grid + 1) * grid, to: end, by: Int(grid)))
        var middle = Array(points.prefix(k - 1))
        var t = x + 1
        while middle.count < k - 1 {
            if mod(t, grid) != 0 { middle.append(t) }
            t += 1
        }
        return middle.sorted() + [end]
    }

    // MARK: arithmetic

    /// The simplest fraction n/d (d ≤ maxDenominator) within 2·10⁻⁹ of x > 0, by continued fractions.
    static func fraction(_ x: Double, maxDenominator: Int64) -> (Int64, Int64)? {
        var (h0, h1): (Int64, Int64) = (0, 1)
        var (k0, k1): (Int64, Int64) = (1, 0)
        var r = x
        for _ in 0..<64 {
            let a = r.rounded(.down)
            guard a.isFinite, a < 1e9 else { return nil }
            let h2 = Int64(a) * h1 + h0, k2 = Int64(a) * k1 + k0
            guard k2 <= maxDenominator else { return nil }
            (h0, h1, k0, k1) = (h1, h2, k1, k2)
            if abs(Double(h1) / Double(k1) - x) <= 2e-9 { return (h1, k1) }
            let rest = r - a
            guard rest > 1e-15 else { return nil }
            r = 1 / rest
        }
        return nil
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (a, b) = (abs(a), abs(b))
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    static func mod(_ a: Int64, _ m: Int64) -> Int64 { ((a % m) + m) % m }
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { (a - mod(a, b)) / b }
    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { a <= 0 ? -((-a) / b) : (a + b - 1) / b }
}
