import CFFmpeg
import Core
import Foundation

/// Encoder settings taken from the job spec.
public struct EncoderSettings: Sendable, Equatable {
    public var codec: String
    public var crf: Int
    public var preset: String
    public var pixelFormat: String
    public var threads: Int
    /// Longest distance between keyframes (nil: the encoder's default).
    public var keyframeInterval: Int?

    public init(codec: String, crf: Int, preset: String, pixelFormat: String, threads: Int = 0, keyframeInterval: Int? = nil) {
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.pixelFormat = pixelFormat
        self.threads = threads
        self.keyframeInterval = keyframeInterval
    }
}

/// Encodes one chunk of frames into a self-contained segment that starts with a keyframe.
/// Every chunk of a job uses identical settings, so the segments concatenate without re-encoding.
public enum ChunkEncoder {
    /// Whether this FFmpeg build has the named encoder.
    public static func isAvailable(_ codec: String) -> Bool { avcodec_find_encoder_by_name(codec) != nil }

    /// - Parameter endPts: when the last frame stops showing (its successor's pts); without it the last
    ///   frame lasts one nominal frame interval.
    public static func encode(frames: [VideoFrame], settings: EncoderSettings, timeBase: Rational, frameRate: Rational,
                              sampleAspectRatio: Rational, endPts: Int64? = nil) throws -> EncodedSegment {
        _ = LibavRuntime.configured
        guard let first = frames.first else { throw MediaError.invalidData("no frames to encode") }
        guard let codec = avcodec_find_encoder_by_name(settings.codec) else {
            throw MediaError.unsupported("encoder '\(settings.codec)' is not in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.libav("allocate encoder", code: reframe_averror_enomem()) }
        var ctxOpt: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { avcodec_free_context(&ctxOpt) }
        let format = try PixelFormat.lookup(settings.pixelFormat)
        // Odd sizes are padded to what the pixel format can encode; the display aspect is kept.
        let coded = try FramePadding.codedSize(width: first.width, height: first.height, pixelFormat: settings.pixelFormat)
        let sar = FramePadding.sampleAspectRatio(sampleAspectRatio, picture: (first.width, first.height), coded: coded)
        ctx.pointee.width = Int32(coded.width)
        ctx.pointee.height = Int32(coded.height)
        ctx.pointee.pix_fmt = format
        ctx.pointee.time_base = timeBase.av
        ctx.pointee.framerate = frameRate.av
        ctx.pointee.sample_aspect_ratio = sar.av
        ctx.pointee.thread_count = Int32(settings.threads)
        if let gop = settings.keyframeInterval { ctx.pointee.gop_size = Int32(gop) }
        // Parameter sets go in the container header, identical for every chunk of the job.
        ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        av_dict_set(&options, "crf", String(settings.crf), 0)
        av_dict_set(&options, "preset", settings.preset, 0)
        if settings.codec == "libx265" { av_dict_set(&options, "x265-params", "log-level=error", 0) }
        try check(avcodec_open2(ctx, codec, &options), "open encoder \(settings.codec)")
        if let left = av_dict_get(options, "", nil, AV_DICT_IGNORE_SUFFIX) {
            throw MediaError.unsupported("\(settings.codec) does not take option '\(String(cString: left.pointee.key))'")
        }

        let converter: FrameScaler? = first.pixelFormat == settings.pixelFormat ? nil
            : try FrameScaler(from: (first.width, first.height, first.pixelFormat), to: (first.width, first.height, settings.pixelFormat),
                              filter: .bicubic)
        guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw MediaError.libav("allocate", code: reframe_averror_enomem())
        }
        var frm: UnsafeMutablePointer<AVFrame>? = frame
        var pkt: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_frame_free(&frm); av_packet_free(&pkt) }

        var infos: [EncodedSegment.PacketInfo] = []
        var payload: [UInt8] = []
        func drain() throws {
            while true {
                let status = avcodec_receive_packet(ctx, packet)
                if status == averrorEAGAIN || status == averrorEOF { return }
                try check(status, "encode")
                defer { av_packet_unref(packet) }
                let p = packet.pointee
                infos.append(.init(pts: p.pts, dts: p.dts == noPTS ? p.pts : p.dts, duration: p.duration,
                                   key: p.flags & AV_PKT_FLAG_KEY != 0, size: Int(p.size)))
                payload.append(contentsOf: UnsafeBufferPointer(start: p.data, count: Int(p.size)))
            }
        }
        for (i, input) in frames.enumerated() {
            guard input.width == first.width, input.height == first.height else {
                throw MediaError.invalidData("frame \(i) is \(input.width)×\(input.height), chunk is \(first.width)×\(first.height)")
            }
            let converted = try FramePadding.pad(try converter?.scale(input) ?? input, width: coded.width, height: coded.height)
            try converted.data.withUnsafeBufferPointer { buffer in
                try PixelFormat.fill(frame, from: buffer.baseAddress!, width: converted.width, height: converted.height, format: format)
                frame.pointee.pts = converted.pts
                // The first frame of every chunk must be a keyframe so chunks can be cut and joined.
                frame.pointee.pict_type = i == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
                try check(avcodec_send_frame(ctx, frame), "encode frame \(i)")
            }
            try drain()
        }
        try check(avcodec_send_frame(ctx, nil), "flush encoder")
        try drain()
        // Encoders do not know how long a frame shows; the container does (the last frame above all, and VFR).
        let nominal = max(1, rescale(1, from: frameRate.inverse, to: timeBase))
        let byPts = infos.indices.sorted { infos[$0].pts < infos[$1].pts }
        for (rank, i) in byPts.enumerated() {
            let next = rank + 1 < byPts.count ? infos[byPts[rank + 1]].pts : (endPts ?? infos[i].pts + nominal)
            infos[i].duration = max(1, next - infos[i].pts)
        }
        let extradata = ctx.pointee.extradata_size > 0
            ? Data(bytes: ctx.pointee.extradata, count: Int(ctx.pointee.extradata_size)) : Data()
        let header = EncodedSegment.Header(
            codec: settings.codec, width: coded.width, height: coded.height, pixelFormat: settings.pixelFormat,
            timeBase: ctx.pointee.time_base.rational ?? timeBase, frameRate: frameRate, sampleAspectRatio: sar,
            extradata: extradata, packets: infos)
        return EncodedSegment(header: header, payload: payload)
    }
}
