import CFFmpeg
import Core

/// Decodes one audio stream packet by packet. Internal: `AudioStretcher` and `AudioTrack` use it.
final class AudioDecoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    /// Time base of the stream's packets (and of decoded frames' timestamps).
    let timeBase: AVRational
    private let frame: UnsafeMutablePointer<AVFrame>

    init(stream: UnsafeMutablePointer<AVStream>) throws {
        _ = LibavRuntime.configured
        let par = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaError.unsupported("no decoder for audio codec \(avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "?")")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.libav("allocate audio decoder", code: reframe_averror_enomem()) }
        var ctxOpt: UnsafeMutablePointer<AVCodecContext>? = ctx
        guard let frame = av_frame_alloc() else {
            avcodec_free_context(&ctxOpt)
            throw MediaError.libav("allocate", code: reframe_averror_enomem())
        }
        context = ctx
        self.frame = frame
        timeBase = stream.pointee.time_base
        // deinit frees both if opening fails from here on.
        try check(avcodec_parameters_to_context(ctx, par), "audio decoder parameters")
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(ctx, codec, nil), "open audio decoder")
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
    }

    /// Sends one packet (nil: end of stream) and hands each frame that comes out to `emit`; a frame is
    /// valid only during the call. Its `pts` is the best-effort timestamp in `timeBase` (or no-PTS).
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, emit: (UnsafeMutablePointer<AVFrame>) throws -> Void) throws {
        let sent = avcodec_send_packet(context, packet)
        // A corrupt packet is skipped as ffmpeg does: a short gap rather than a failed job.
        if sent < 0 && sent != averrorEAGAIN && sent != averrorEOF && packet != nil { return }
        while true {
            let status = avcodec_receive_frame(context, frame)
            if status == averrorEAGAIN || status == averrorEOF { return }
            try check(status, "decode audio")
            defer { av_frame_unref(frame) }
            frame.pointee.pts = frame.pointee.best_effort_timestamp != noPTS ? frame.pointee.best_effort_timestamp : frame.pointee.pts
            try emit(frame)
        }
    }
}

/// One audio stream of a file decoded to floats, as a player hears it: for inspecting outputs (tests,
/// benchmarks), not for processing long files (every sample is held in memory).
public struct AudioTrack: Sendable {
    public var codecName: String
    public var sampleRate: Int
    public var channels: Int
    /// Presentation time of the first decoded sample, in seconds.
    public var startSeconds: Double
    /// The stream's duration as its container states it (edit lists applied), when known.
    public var containerDurationSeconds: Double?
    /// The channels averaged to one, at `sampleRate`.
    public var samples: [Float]

    public var durationSeconds: Double { Double(samples.count) / Double(sampleRate) }
    public var endSeconds: Double { startSeconds + durationSeconds }

    /// Decodes the `index`-th audio stream (0: the first) of `path`.
    public static func decode(path: String, audioStream index: Int = 0) throws -> AudioTrack {
        let input = try InputFile(path: path)
        let audio = input.streams(of: AVMEDIA_TYPE_AUDIO)
        guard index < audio.count else { throw MediaError.invalidData("\(path) has \(audio.count) audio streams, not \(index + 1)") }
        let streamIndex = audio[index]
        let stream = input.stream(streamIndex)
        let decoder = try AudioDecoder(stream: stream)
        let par = stream.pointee.codecpar.pointee
        var track = AudioTrack(codecName: avcodec_get_name(par.codec_id).map { String(cString: $0) } ?? "?",
                               sampleRate: Int(par.sample_rate), channels: Int(par.ch_layout.nb_channels), startSeconds: 0,
                               containerDurationSeconds: nil, samples: [])
        if stream.pointee.duration != noPTS, stream.pointee.duration > 0 {
            track.containerDurationSeconds = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        }
        var first = true
        let append: (UnsafeMutablePointer<AVFrame>) throws -> Void = { frame in
            if first {
                first = false
                track.sampleRate = Int(frame.pointee.sample_rate)
                track.channels = Int(frame.pointee.ch_layout.nb_channels)
                if frame.pointee.pts != noPTS { track.startSeconds = Double(frame.pointee.pts) * av_q2d(decoder.timeBase) }
            }
            guard Int(frame.pointee.sample_rate) == track.sampleRate, Int(frame.pointee.ch_layout.nb_channels) == track.channels else {
                throw MediaError.unsupported("\(path): audio format changes mid-stream")
            }
            track.samples += try mixDown(frame)
        }
        try input.forEachPacket(of: streamIndex) { try decoder.decode($0, emit: append) }
        try decoder.decode(nil, emit: append)
        return track
    }

    /// The mean of a frame's channels as floats, for the sample formats decoders produce.
    private static func mixDown(_ frame: UnsafeMutablePointer<AVFrame>) throws -> [Float] {
        let n = Int(frame.pointee.nb_samples), channels = Int(frame.pointee.ch_layout.nb_channels)
        let format = AVSampleFormat(rawValue: frame.pointee.format)
        let planar = av_sample_fmt_is_planar(format) != 0
        let packed = av_get_packed_sample_fmt(format)
        var out = [Float](repeating: 0, count: n)
        guard channels > 0 else { return out }
        let data = frame.pointee.extended_data!
        func read<T>(_: T.Type, _ convert: (T) -> Float) {
            for c in 0..<channels {
                let base = UnsafeRawPointer(data[planar ? c : 0]!).assumingMemoryBound(to: T.self)
                for i in 0..<n { out[i] += convert(base[planar ? i : i * channels + c]) }
            }
        }
        switch packed {
        case AV_SAMPLE_FMT_FLT: read(Float.self) { $0 }
        case AV_SAMPLE_FMT_DBL: read(Double.self) { Float($0) }
        case AV_SAMPLE_FMT_S16: read(Int16.self) { Float($0) / 32768 }
        case AV_SAMPLE_FMT_S32: read(Int32.self) { Float($0) / 2_147_483_648 }
        case AV_SAMPLE_FMT_U8: read(UInt8.self) { (Float($0) - 128) / 128 }
        default:
            throw MediaError.unsupported("audio sample format \(av_get_sample_fmt_name(format).map { String(cString: $0) } ?? "?")")
        }
        let scale = 1 / Float(channels)
        for i in 0..<n { out[i] *= scale }
        return out
    }
}
