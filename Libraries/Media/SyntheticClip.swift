import CFFmpeg
import Core
import Foundation

/// Writes small test clips with libav: a moving pattern (H.264) and optionally a sine tone (AAC),
/// constant or variable frame rate. Tests and benchmarks use it to make inputs they know exactly.
public enum SyntheticClip {
    public struct Options: Sendable {
        public var width = 320
        public var height = 240
        public var fps = 30
        public var frames = 300
        public var audio = true
        /// Variable frame rate: intervals alternate 1, 2 and 3 frame periods.
        public var variableRate = false
        public var keyframeInterval = 30
        public init() {}
    }

    /// The pts (time base 1/(fps·6)) of each frame the clip will hold.
    public static func framePts(_ o: Options) -> [Int64] {
        var t: Int64 = 0
        return (0..<o.frames).map { i in
            defer { t += o.variableRate ? Int64(6 * (1 + i % 3)) : 6 }
            return t
        }
    }

    public static func write(path: String, options o: Options) throws {
        let timeBase = Rational(1, Int64(o.fps * 6))
        let pts = framePts(o)
        var frames: [VideoFrame] = []
        frames.reserveCapacity(o.frames)
        for (i, p) in pts.enumerated() { frames.append(try pattern(width: o.width, height: o.height, index: i, pts: p)) }
        let settings = EncoderSettings(codec: "libx264", crf: 16, preset: "veryfast", pixelFormat: "yuv420p", keyframeInterval: o.keyframeInterval)
        let end = pts.last! + (o.variableRate ? 6 * Int64(1 + (o.frames - 1) % 3) : 6)
        let segment = try ChunkEncoder.encode(frames: frames, settings: settings, timeBase: timeBase, frameRate: Rational(Int64(o.fps), 1),
                                              sampleAspectRatio: Rational(1, 1), endPts: end)
        let seconds = Double(end) * timeBase.double
        var audioPath: String?
        if o.audio {
            audioPath = path + ".tone.m4a"
            try writeTone(path: audioPath!, seconds: seconds)
        }
        defer { if let audioPath { unlink(audioPath) } }
        let muxer = try SegmentMuxer(outputPath: path, first: segment.header, audioSource: audioPath)
        try muxer.append(segment)
        _ = try muxer.finish()
    }

    /// A gradient with a bright square moving 4 px per frame: easy to see motion, hard to fake.
    public static func pattern(width: Int, height: Int, index: Int, pts: Int64) throws -> VideoFrame {
        var frame = try VideoFrame(width: width, height: height, pixelFormat: "yuv420p", pts: pts)
        let layout = try frame.layout()
        let y = layout.planes[0], u = layout.planes[1], v = layout.planes[2]
        let side = max(8, height / 4)
        let sx = (index * 4) % max(1, width - side), sy = height / 3
        frame.data.withUnsafeMutableBufferPointer { d in
            for row in 0..<height {
                for col in 0..<width {
                    let inSquare = col >= sx && col < sx + side && row >= sy && row < sy + side
                    d[y.offset + row * y.bytesPerRow + col] = inSquare ? 235 : UInt8(16 + (col + row + index) % 200)
                }
            }
            for row in 0..<u.rows {
                for col in 0..<u.bytesPerRow {
                    d[u.offset + row * u.bytesPerRow + col] = UInt8(64 + (col * 2) % 128)
                    d[v.offset + row * v.bytesPerRow + col] = UInt8(64 + (row * 2 + index) % 128)
                }
            }
        }
        return frame
    }

    /// A 440 Hz sine in AAC, mono 48 kHz.
    static func writeTone(path: String, seconds: Double) throws {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC), let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError.unsupported("AAC encoder")
        }
        var c: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { avcodec_free_context(&c) }
        ctx.pointee.sample_rate = 48000
        ctx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        ctx.pointee.bit_rate = 64000
        ctx.pointee.time_base = AVRational(num: 1, den: 48000)
        av_channel_layout_default(&ctx.pointee.ch_layout, 1)
        var ocOpt: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&ocOpt, nil, "ipod", path), "audio muxer")
        guard let oc = ocOpt else { throw MediaError.unsupported("audio muxer") }
        defer {
            if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
        }
        if oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        try check(avcodec_open2(ctx, codec, nil), "open AAC encoder")
        guard let stream = avformat_new_stream(oc, nil) else { throw MediaError.unsupported("audio stream") }
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, ctx), "audio parameters")
        stream.pointee.time_base = ctx.pointee.time_base
        try check(avio_open(&oc.pointee.pb, path, AVIO_FLAG_WRITE), "open \(path)")
        try check(avformat_write_header(oc, nil), "audio header")
        guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else { throw MediaError.unsupported("allocate") }
        var f: UnsafeMutablePointer<AVFrame>? = frame
        var p: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_frame_free(&f); av_packet_free(&p) }
        let frameSize = Int(ctx.pointee.frame_size)
        let total = Int(seconds * 48000)
        func drain() throws {
            while avcodec_receive_packet(ctx, packet) >= 0 {
                av_packet_rescale_ts(packet, ctx.pointee.time_base, stream.pointee.time_base)
                packet.pointee.stream_index = 0
                try check(av_interleaved_write_frame(oc, packet), "write audio")
            }
        }
        var sample = 0
        while sample < total {
            frame.pointee.nb_samples = Int32(frameSize)
            frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            frame.pointee.sample_rate = 48000
            try check(av_channel_layout_copy(&frame.pointee.ch_layout, &ctx.pointee.ch_layout), "layout")
            try check(av_frame_get_buffer(frame, 0), "audio buffer")
            let samples = frame.pointee.data.0!.withMemoryRebound(to: Float.self, capacity: frameSize) { $0 }
            for i in 0..<frameSize { samples[i] = 0.3 * sin(2 * Float.pi * 440 * Float(sample + i) / 48000) }
            frame.pointee.pts = Int64(sample)
            try check(avcodec_send_frame(ctx, frame), "encode audio")
            av_frame_unref(frame)
            try drain()
            sample += frameSize
        }
        try check(avcodec_send_frame(ctx, nil), "flush audio")
        try drain()
        try check(av_write_trailer(oc), "audio trailer")
    }
}
