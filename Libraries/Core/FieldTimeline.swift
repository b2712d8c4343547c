/// Field-rate deinterlacing (`"deinterlace": "field"`) turns each source frame into two, one per
/// field. From extraction on, such a job runs on the *field timeline*: the source's time base
/// halved, so frame i's two fields sit at `2·pts_i` and `pts_i + pts_{i+1}` — exact integers, what
/// bwdif's send_field emits, and OutputTiming's factor-2 rule — with twice the frames and the
/// frame rate over the same span. The plan's `video` and `segments` are stated on it; only the
/// decoder maps a segment back to source timestamps to seek and select (`onSourceTimeline`).
extension VideoInfo {
    public var onFieldTimeline: VideoInfo {
        var v = self
        v.timeBase = timeBase * Rational(1, 2)
        v.frameRate = frameRate * Rational(2, 1)
        v.frameCount = frameCount * 2
        v.startPts = startPts * 2
        v.endPts = endPts * 2
        return v
    }
}

extension SegmentPlan {
    /// The segment on the field timeline: times doubled, two frames per source frame.
    public var onFieldTimeline: SegmentPlan {
        SegmentPlan(index: index, startPts: startPts * 2, endPts: endPts * 2, seekDts: seekDts * 2,
                    firstFrame: firstFrame * 2, frameCount: frameCount * 2, isLast: isLast)
    }

    /// The inverse of `onFieldTimeline`: the source frames and timestamps the segment is made from.
    public var onSourceTimeline: SegmentPlan {
        SegmentPlan(index: index, startPts: startPts / 2, endPts: endPts / 2, seekDts: seekDts / 2,
                    firstFrame: firstFrame / 2, frameCount: frameCount / 2, isLast: isLast)
    }
}
