/// What Ingest learned about the source video stream.
public struct VideoInfo: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixelFormat: String
    public var timeBase: Rational
    /// Average frame rate (for VFR sources only a guide; timestamps rule).
    public var frameRate: Rational
    public var frameCount: Int
    /// First presentation time and the end of the last frame, in `timeBase`.
    public var startPts: Int64
    public var endPts: Int64
    public var hasAudio: Bool
    /// Pixel aspect ratio; kept on output (upscaling scales both axes alike).
    public var sampleAspectRatio: Rational
    /// Interlaced or not, as the stream says or, where it does not mark it, as `interlaceDetection`
    /// found (nil in plans written before it was recorded).
    public var fieldOrder: FieldOrder?
    /// What idet said of a sample at ingest, when the stream did not mark the source interlaced
    /// (nil when no sample was analysed).
    public var interlaceDetection: InterlaceDetection?

    /// The field order came from analysing the pictures, not from the stream.
    public var fieldOrderDetected: Bool { interlaceDetection?.verdict?.isInterlaced == true }

    public init(width: Int, height: Int, pixelFormat: String, timeBase: Rational, frameRate: Rational,
                frameCount: Int, startPts: Int64, endPts: Int64, hasAudio: Bool, sampleAspectRatio: Rational = Rational(1, 1),
                fieldOrder: FieldOrder? = nil, interlaceDetection: InterlaceDetection? = nil) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.timeBase = timeBase
        self.frameRate = frameRate
        self.frameCount = frameCount
        self.startPts = startPts
        self.endPts = endPts
        self.hasAudio = hasAudio
        self.sampleAspectRatio = sampleAspectRatio
        self.fieldOrder = fieldOrder
        self.interlaceDetection = interlaceDetection
    }

    public var durationSeconds: Double { Double(endPts - startPts) * timeBase.double }
}

/// A keyframe-aligned part of the source that one Extractor decodes.
public struct SegmentPlan: Codable, Sendable, Equatable {
    public var index: Int
    /// Presentation time of the segment's keyframe; frames with pts in [startPts, endPts) belong here.
    public var startPts: Int64
    /// End of the segment (the next keyframe's pts, or the end of the video for the last one).
    public var endPts: Int64
    /// Decode timestamp to seek to: the previous keyframe's dts (one GOP of pre-roll), the
    /// keyframe's own for the first segment.
    public var seekDts: Int64
    /// Number of source frames before this segment and in it, from the packet index.
    public var firstFrame: Int
    public var frameCount: Int
    public var isLast: Bool

    public init(index: Int, startPts: Int64, endPts: Int64, seekDts: Int64, firstFrame: Int, frameCount: Int, isLast: Bool) {
        self.index = index
        self.startPts = startPts
        self.endPts = endPts
        self.seekDts = seekDts
        self.firstFrame = firstFrame
        self.frameCount = frameCount
        self.isLast = isLast
    }
}

/// Bounds on one chunk: whichever is reached first closes it.
public struct ChunkPolicy: Codable, Sendable, Equatable {
    public var maxFrames: Int
    public var maxBytes: Int
    /// A chunk may close early at a scene cut once it holds at least this many frames.
    public var minFramesAtCut: Int

    public init(maxFrames: Int = 48, maxBytes: Int = 96 << 20, minFramesAtCut: Int = 12) {
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
        self.minFramesAtCut = minFramesAtCut
    }
}

/// Everything the stages need to process a job, fixed at ingest and stored in the job record.
public struct JobPlan: Codable, Sendable, Equatable {
    public var jobId: String
    public var source: String
    public var output: String
    public var video: VideoInfo
    public var segments: [SegmentPlan]
    /// Processing hops in order (upscale/interpolate), before encode.
    public var hops: [Stage]
    public var upscale: UpscaleSpec?
    public var interpolate: InterpolateSpec?
    public var encode: EncodeSpec
    public var audio: AudioMode
    /// Pixel format frames are stored in between stages.
    public var workingPixelFormat: String
    public var outputWidth: Int
    public var outputHeight: Int
    public var outputTiming: OutputTiming
    public var chunkPolicy: ChunkPolicy
    public var sceneThreshold: Double
    /// Deinterlace the decoded frames with this field order (bwdif) before any other stage; nil
    /// leaves them as they are.
    public var deinterlace: FieldOrder? = nil
    /// True: one frame per field (bwdif send_field), and `video` and `segments` are stated on the
    /// field timeline (see FieldTimeline.swift); otherwise one frame per frame.
    public var deinterlaceAtFieldRate: Bool? = nil

    /// Messages for the first hop after extraction name these hops, then encode.
    public var hopsAfterExtract: [Stage] { hops + [.encode] }

    /// How many times larger a chunk's stored frames can grow on its way from extraction to
    /// encoding (more pixels, then more frames): the extractor's backpressure budgets with it.
    public var storedBytesGrowth: Double {
        let pixels = Double(outputWidth * outputHeight) / Double(max(1, video.width * video.height))
        let frames: Double
        switch outputTiming.kind {
        case .passthrough: frames = 1
        case .factor: frames = Double(outputTiming.factor)
        case .targetRate: frames = (outputTiming.targetRate?.double ?? 1) / max(video.frameRate.double, 1e-9)
        }
        return max(1, pixels) * max(1, frames)
    }
}
