import Foundation

/// Turns a validated spec and what Ingest learned about the source into a plan.
public struct Planner: Sendable {
    public var limits: JobLimits
    public var segmentSeconds: Double
    public var chunkPolicy: ChunkPolicy

    public init(limits: JobLimits = JobLimits(), segmentSeconds: Double = 4, chunkPolicy: ChunkPolicy = ChunkPolicy()) {
        self.limits = limits
        self.segmentSeconds = segmentSeconds
        self.chunkPolicy = chunkPolicy
    }

    public func plan(jobId: String, spec: JobSpec, video: VideoInfo, index: PacketIndex) throws -> JobPlan {
        guard video.frameCount > 0, !index.framePts.isEmpty else { throw SpecError("source has no video frames") }
        guard video.width <= limits.maxSourceWidth, video.height <= limits.maxSourceHeight else {
            throw SpecError("source is \(video.width)×\(video.height); the limit is \(limits.maxSourceWidth)×\(limits.maxSourceHeight)")
        }
        let fps = video.frameRate.double
        guard fps > 0, fps.isFinite else { throw SpecError("source has no frame rate (0 fps in its header); remux it with a frame rate, e.g. ffmpeg -r 25") }
        guard fps <= limits.maxSourceFrameRate else {
            throw SpecError(String(format: "source runs at %.0f fps; the limit is %.0f fps — its header is probably wrong: remux it with the real rate", fps, limits.maxSourceFrameRate))
        }
        guard video.durationSeconds <= limits.maxDurationSeconds else {
            throw SpecError(String(format: "source lasts %.0f s; the limit is %.0f s — cut it into parts", video.durationSeconds, limits.maxDurationSeconds))
        }
        let mode = spec.deinterlace ?? .auto
        let deinterlace = mode.resolve(video.fieldOrder)
        let fieldRate = deinterlace != nil && mode.isFieldRate
        // From extraction on, a field-rate job works on the field timeline: twice the frames.
        let working = fieldRate ? video.onFieldTimeline : video
        let factor = spec.upscale?.factor ?? 1
        let outWidth = video.width * factor, outHeight = video.height * factor
        guard outWidth <= limits.maxOutputDimension, outHeight <= limits.maxOutputDimension else {
            throw SpecError("output would be \(outWidth)×\(outHeight); the limit is \(limits.maxOutputDimension) per side — lower the upscale factor")
        }
        let timing = Self.timing(spec: spec, video: working)
        let outRate = timing.outputFrameRate(sourceRate: working.frameRate).double
        let pixelRate = Double(outWidth * outHeight) * outRate
        guard pixelRate <= limits.maxOutputPixelsPerSecond else {
            throw SpecError(String(format: "output would be %.0f Mpixel/s; the limit is %.0f — lower the upscale factor or the frame rate", pixelRate / 1e6, limits.maxOutputPixelsPerSecond / 1e6))
        }
        var segments = SegmentPlanner.segments(index: index, timeBase: video.timeBase, targetSeconds: segmentSeconds)
        guard !segments.isEmpty else { throw SpecError("source has no keyframe to start decoding from") }
        if fieldRate { segments = segments.map(\.onFieldTimeline) }
        let output = spec.output ?? "reframe/\(jobId).mp4"
        return JobPlan(
            jobId: jobId, source: spec.source, output: output, video: working, segments: segments,
            hops: Self.order(spec: spec, video: working), upscale: spec.upscale, interpolate: spec.interpolate,
            encode: spec.encode, audio: spec.effectiveAudio,
            workingPixelFormat: Self.workingPixelFormat(for: video),
            outputWidth: outWidth, outputHeight: outHeight, outputTiming: timing, chunkPolicy: chunkPolicy,
            sceneThreshold: spec.interpolate?.sceneThreshold ?? 0.35,
            deinterlace: deinterlace, deinterlaceAtFieldRate: fieldRate ? true : nil)
    }

    /// Classical stages work on planar YUV; 4:2:0 needs even sizes, otherwise frames travel as 4:4:4.
    static func workingPixelFormat(for video: VideoInfo) -> String {
        video.width % 2 == 0 && video.height % 2 == 0 ? "yuv420p" : "yuv444p"
    }

    static func timing(spec: JobSpec, video: VideoInfo) -> OutputTiming {
        guard let interp = spec.interpolate else {
            return OutputTiming(kind: .passthrough, sourceTimeBase: video.timeBase, sourceStartPts: video.startPts)
        }
        if let fps = interp.targetFps {
            return OutputTiming(kind: .targetRate, targetRate: Rational.approximating(fps), sourceTimeBase: video.timeBase,
                                sourceStartPts: video.startPts)
        }
        return OutputTiming(kind: .factor, factor: interp.factor ?? 2, slowMotion: interp.mode == .slowmo,
                            sourceTimeBase: video.timeBase, sourceStartPts: video.startPts)
    }

    /// Picks upscale→interpolate or interpolate→upscale by estimated cost (DESIGN.md §3): the result is
    /// the same size either way, so do the expensive work on the fewest pixels.
    public static func order(spec: JobSpec, video: VideoInfo) -> [Stage] {
        switch (spec.upscale, spec.interpolate) {
        case (nil, nil): return []
        case (.some, nil): return [.upscale]
        case (nil, .some): return [.interpolate]
        case (let up?, let interp?):
            let frames = Double(video.frameCount)
            let timing = timing(spec: spec, video: video)
            let outFrames = Double(timing.expectedFrameCount(sourceFrames: video.frameCount, startPts: video.startPts, endPts: video.endPts))
            let pixels = Double(video.width * video.height)
            let scale2 = Double(up.factor * up.factor)
            let u = ModelCatalog.model(up.model, kind: .upscaler)?.cost ?? 1
            let i = ModelCatalog.model(interp.model, kind: .interpolator)?.cost ?? 1
            let upscaleFirst = u * frames * pixels + i * outFrames * pixels * scale2
            let interpolateFirst = i * outFrames * pixels + u * outFrames * pixels
            return upscaleFirst < interpolateFirst ? [.upscale, .interpolate] : [.interpolate, .upscale]
        }
    }
}
