/// Interpolation over duplicated frames (animation on twos and threes, telecine, 20 fps shown at 30,
/// static shots): the frames that repeat their predecessor are set aside and each output sample is
/// placed on the timeline of the distinct frames, so the in-betweens follow the real motion instead
/// of morphing between identical pictures, and no inference is spent on identical pairs.
///
/// Runs of more than `maxRun` duplicates are a static shot, not a drawing held on n's: their last
/// frame stays a key frame and samples inside the run show the run's picture, so the motion that
/// ends the shot is interpolated in its own interval only.
public enum Deduplication {
    public static let defaultMaxRun = 4

    /// Key frames (indices into the chunk's frames, lookahead included) and the samples re-expressed
    /// on them: `left` indexes the key frames, `position` runs towards the next key frame.
    /// - Parameters:
    ///   - pts: every stored frame's pts, lookahead included; `endPts` follows the last.
    ///   - duplicate: `duplicate[i]` is true when frame i repeats frame i−1.
    ///   - sceneCut: `sceneCut[i]` is true when frame i starts a new scene.
    public static func apply(samples: [OutputTiming.Sample], pts: [Int64], endPts: Int64, duplicate: [Bool], sceneCut: [Bool],
                             maxRun: Int = defaultMaxRun) -> (keys: [Int], samples: [OutputTiming.Sample]) {
        let n = pts.count
        func isDuplicate(_ i: Int) -> Bool { i > 0 && i < duplicate.count && duplicate[i] }
        // Key frames: distinct ones, plus the last frame of every run longer than maxRun.
        var keys: [Int] = [], holds = Set<Int>()  // holds: key whose interval is static (no morph)
        var i = 0
        while i < n {
            keys.append(i)
            var j = i + 1
            while j < n && isDuplicate(j) { j += 1 }
            if j - i - 1 > maxRun {
                holds.insert(keys.count - 1)
                keys.append(j - 1)
            }
            i = j
        }
        guard keys.count < n else { return (Array(0..<n), samples) }
        let remapped = samples.map { s -> OutputTiming.Sample in
            // The sample's instant on the source timeline.
            let next = s.left + 1 < n ? pts[s.left + 1] : endPts
            let t = Double(pts[s.left]) + s.position * Double(next - pts[s.left])
            var k = 0
            while k + 1 < keys.count && Double(pts[keys[k + 1]]) <= t { k += 1 }
            guard k + 1 < keys.count, !holds.contains(k) else { return OutputTiming.Sample(pts: s.pts, left: k, position: 0) }
            let (a, b) = (Double(pts[keys[k]]), Double(pts[keys[k + 1]]))
            var position = b > a ? min(max((t - a) / (b - a), 0), 1) : 0
            // A cut between the two keys: show the nearer real frame instead of morphing across it.
            if keys[k + 1] < sceneCut.count && sceneCut[keys[k + 1]] { position = position < 0.5 ? 0 : 1 }
            return OutputTiming.Sample(pts: s.pts, left: k, position: position)
        }
        return (keys, remapped)
    }
}
