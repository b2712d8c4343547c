/// The packet-level view of the source that Ingest builds without decoding.
public struct PacketIndex: Sendable, Equatable {
    /// Presentation times of every video packet, ascending.
    public var framePts: [Int64]
    /// Keyframes in presentation order: (pts, dts).
    public var keyframes: [(pts: Int64, dts: Int64)]
    /// End of the last frame (its pts plus duration).
    public var endPts: Int64

    public init(framePts: [Int64], keyframes: [(pts: Int64, dts: Int64)], endPts: Int64) {
        self.framePts = framePts
        self.keyframes = keyframes
        self.endPts = endPts
    }

    public static func == (a: PacketIndex, b: PacketIndex) -> Bool {
        a.framePts == b.framePts && a.endPts == b.endPts
            && a.keyframes.map(\.pts) == b.keyframes.map(\.pts) && a.keyframes.map(\.dts) == b.keyframes.map(\.dts)
    }
}

/// Splits the source at keyframes into segments of roughly `targetSeconds`.
public enum SegmentPlanner {
    public static func segments(index: PacketIndex, timeBase: Rational, targetSeconds: Double) -> [SegmentPlan] {
        guard let firstPts = index.framePts.first else { return [] }
        let target = Int64(targetSeconds / timeBase.double)
        // Keyframes at or after the first frame; the first segment always starts at the first frame's keyframe.
        var starts: [(pts: Int64, dts: Int64)] = []
        for kf in index.keyframes.sorted(by: { $0.pts < $1.pts }) {
            if let last = starts.last {
                if kf.pts - last.pts >= target { starts.append(kf) }
            } else {
                starts.append(kf)
            }
        }
        guard !starts.isEmpty else { return [] }
        // Decoding enters one keyframe early (a GOP of pre-roll, decoded and dropped): open GOPs'
        // leading B-frames and frames stored without timestamps then come out exactly as in a
        // straight decode, and a seek that lands late in an unindexed container still lands
        // before the segment's own keyframe.
        let keyframes = index.keyframes.sorted { $0.pts < $1.pts }
        func entry(before kf: (pts: Int64, dts: Int64)) -> Int64 {
            guard let previous = keyframes.last(where: { $0.pts < kf.pts }) else { return kf.dts }
            return min(previous.dts, kf.dts)
        }
        let entries = starts.map(entry(before:))
        // Frames before the first keyframe (undecodable leading frames) are folded into segment 0.
        starts[0].pts = min(starts[0].pts, firstPts)
        var segments: [SegmentPlan] = []
        var frameCursor = 0
        for (i, start) in starts.enumerated() {
            let isLast = i == starts.count - 1
            let end = isLast ? index.endPts : starts[i + 1].pts
            var count = 0
            while frameCursor + count < index.framePts.count && (isLast || index.framePts[frameCursor + count] < end) {
                count += 1
            }
            segments.append(SegmentPlan(index: i, startPts: start.pts, endPts: end, seekDts: entries[i],
                                        firstFrame: frameCursor, frameCount: count, isLast: isLast))
            frameCursor += count
        }
        return segments
    }
}

/// Cuts a run of decoded frames into chunks bounded by frame count and bytes, preferring scene cuts.
public enum ChunkCutter {
    /// Largest chunk length allowed for frames of `frameBytes` bytes.
    public static func maxFrames(frameBytes: Int, policy: ChunkPolicy) -> Int {
        max(1, min(policy.maxFrames, policy.maxBytes / max(frameBytes, 1)))
    }

    /// Whether a chunk holding `length` frames closes before the next frame, which is a scene cut when `nextIsCut`.
    public static func closes(length: Int, nextIsCut: Bool, maxFrames: Int, policy: ChunkPolicy) -> Bool {
        length >= maxFrames || (nextIsCut && length >= min(policy.minFramesAtCut, maxFrames))
    }

    /// Returns the start offsets of each chunk within `frameCount` frames.
    public static func boundaries(frameCount: Int, frameBytes: Int, sceneCut: [Bool], policy: ChunkPolicy) -> [Int] {
        guard frameCount > 0 else { return [] }
        let limit = maxFrames(frameBytes: frameBytes, policy: policy)
        var starts = [0]
        for i in 1..<frameCount where closes(length: i - starts.last!, nextIsCut: i < sceneCut.count && sceneCut[i], maxFrames: limit, policy: policy) {
            starts.append(i)
        }
        return starts
    }
}
