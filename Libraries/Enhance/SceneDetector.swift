import Media

/// Scores how different consecutive frames are, like FFmpeg's `scene` score: the mean absolute
/// luma difference, damped by its change from the previous pair so steady motion is not a cut.
/// A score above the threshold (0…1, default 0.35) marks the second frame as starting a new scene.
public struct SceneDetector: Sendable {
    public var threshold: Double
    private var previousMAFD: Double = 0

    public init(threshold: Double) { self.threshold = threshold }

    /// Returns true when `current` starts a new scene after `previous`.
    public mutating func isCut(previous: VideoFrame, current: VideoFrame) -> Bool {
        let mafd = Self.meanAbsoluteLumaDifference(previous, current)
        let score = min(mafd, abs(mafd - previousMAFD)) / 100
        previousMAFD = mafd
        return score > threshold
    }

    /// Over the first plane (luma for YUV), sampling every second row to halve the cost.
    static func meanAbsoluteLumaDifference(_ a: VideoFrame, _ b: VideoFrame) -> Double {
        guard let layout = try? a.layout(), let plane = layout.planes.first, a.data.count == b.data.count else { return 255 }
        var total = 0
        var count = 0
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                var row = 0
                while row < plane.rows {
                    let start = plane.offset + row * plane.bytesPerRow
                    for i in start..<(start + plane.bytesPerRow) {
                        total += abs(Int(pa[i]) - Int(pb[i]))
                    }
                    count += plane.bytesPerRow
                    row += 2
                }
            }
        }
        return count == 0 ? 0 : Double(total) / Double(count)
    }
}
