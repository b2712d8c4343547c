import CFFmpeg
import Core

/// Slows one audio stream down by a factor with its pitch kept, for slow-motion output: decode →
/// libavfilter `atempo` chain → AAC. Source time t lands at output time t·factor, as the video's frames
/// do in slow motion. Fed packet by packet (the muxer interleaves it with the video), so memory stays
/// bounded and each call does work in proportion to the audio it is given.
///
/// With `sourceEnd` (where the video ends, in source seconds) the output is cut, or padded with up to
/// a second (source time) of silence, to end exactly at `sourceEnd·factor`, so audio and video last
/// equally long.
public final class AudioStretcher {
    /// atempo's per-instance range is 0.5…100: slowing down by more than 2 chains instances.
    static let minimumTempo = 0.5
    /// Longest silence (source seconds) added to reach `sourceEnd`.
    static let maximumPadSeconds = 1.0

    /// Tempos whose product is 1/slowdown, each within atempo's range: as many 0.5 as fit, then the
    /// remainder (≥ 0.5). ×2 → [0.5], ×3 → [0.5, 0.667], ×4 → [0.5, 0.5], ×8 → [0.5, 0.5, 0.5].
    public static func tempos(slowdown: Double) -> [Double] {
        precondition(slowdown.isFinite && slowdown >= 1, "slowdown must be at least 1")
        var left = slowdown
        var out: [Double] = []
        while left > 1 / minimumTempo {
            out.append(minimumTempo)
            left *= minimumTempo
        }
        out.append(1 / left)
        return out
    }

    /// The filter chain for `tempos(slowdown:)`, e.g. `atempo=0.5,atempo=0.5`.
    public static func filters(slowdown: Double) -> String {
        tempos(slowdown: slowdown).map { "atempo=\($0)" }.joined(separator: ",")
    }

    private let factor: Int
    private let sourceEnd: Double?
    private let decoder: AudioDecoder
    private let encoder: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var graph: AudioFilterGraph?
    /// Pts of the first output sample (encoder time base) and samples given to the encoder since.
    private var firstPts: Int64 = 0
    private var written: Int64 = 0
    /// Output samples wanted in all (from `sourceEnd`), once the first input frame is known.
    private var target: Int64?
    private var inputDone = false
    private var finished = false

    /// Encoder time base (1/sample rate): the time base of emitted packets.
    var timeBase: AVRational { encoder.pointee.time_base }

    /// - Parameters:
    ///   - stream: the source audio stream; its packets come through `push`.
    ///   - globalHeader: whether the output container wants codec parameters in its header.
    init(stream: UnsafeMutablePointer<AVStream>, factor: Int, sourceEnd: Double?, globalHeader: Bool) throws {
        guard factor >= 1 else { throw MediaError.invalidData("audio stretch factor \(factor) must be at least 1") }
        self.factor = factor
        self.sourceEnd = sourceEnd
        decoder = try AudioDecoder(stream: stream)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else { throw MediaError.unsupported("AAC encoder not in this FFmpeg build") }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.libav("allocate AAC encoder", code: reframe_averror_enomem()) }
        var ctxOpt: UnsafeMutablePointer<AVCodecContext>? = ctx
        guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            avcodec_free_context(&ctxOpt)
            throw MediaError.libav("allocate", code: reframe_averror_enomem())
        }
        encoder = ctx
        self.frame = frame
        self.packet = packet
        // From here on deinit frees what fails to open.
        let par = stream.pointee.codecpar.pointee
        let rate = Int32(par.sample_rate)
        ctx.pointee.sample_rate = Self.supported(codec.pointee.supported_samplerates, contains: rate) ? rate : 48000
        var layout = par.ch_layout
        if layout.order == AV_CHANNEL_ORDER_UNSPEC || !Self.supported(codec.pointee.ch_layouts, contains: &layout) {
            av_channel_layout_default(&ctx.pointee.ch_layout, layout.nb_channels == 1 ? 1 : 2)
        } else {
            try check(av_channel_layout_copy(&ctx.pointee.ch_layout, &layout), "audio channel layout")
        }
        ctx.pointee.sample_fmt = codec.pointee.sample_fmts?.pointee ?? AV_SAMPLE_FMT_FLTP
        ctx.pointee.bit_rate = Int64(min(6, ctx.pointee.ch_layout.nb_channels)) * 64000
        ctx.pointee.time_base = AVRational(num: 1, den: ctx.pointee.sample_rate)
        if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        try check(avcodec_open2(ctx, codec, nil), "open AAC encoder")
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&ctx)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Describes the output stream (AAC parameters, time base) before the muxer writes its header.
    func configure(_ stream: UnsafeMutablePointer<AVStream>) throws {
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder), "stretched audio parameters")
        stream.pointee.time_base = encoder.pointee.time_base
    }

    /// Feeds one source packet; `emit` receives each AAC packet produced (pts in `timeBase`), to be
    /// consumed (written or unreferenced) during the call.
    func push(_ packet: UnsafeMutablePointer<AVPacket>, emit: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        guard !inputDone, !finished else { return }
        try decoder.decode(packet) { try filter($0, emit: emit) }
    }

    /// Drains the decoder, the filters and the encoder (padding with silence up to `sourceEnd`).
    func finish(emit: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        guard !finished else { return }
        if !inputDone { try decoder.decode(nil) { try filter($0, emit: emit) } }
        if let graph {
            // Silence pads a short rounding gap only: a source whose audio stops early stays short
            // rather than turning finalize into minutes of encoding silence.
            if let t = target { target = min(t, written + Int64(Self.maximumPadSeconds * Double(encoder.pointee.sample_rate) * Double(factor))) }
            try graph.push(nil)
            try drainGraph(emit: emit)
        }
        finished = true
        try check(avcodec_send_frame(encoder, nil), "flush AAC encoder")
        try drainEncoder(emit: emit)
    }

    private func filter(_ decoded: UnsafeMutablePointer<AVFrame>, emit: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        guard !inputDone else { return }
        let rate = decoded.pointee.sample_rate
        let inputTB = AVRational(num: 1, den: rate)
        if graph == nil {
            // The first frame fixes the output's start and length: source time t plays at t·factor.
            let start = decoded.pointee.pts == noPTS ? 0 : Double(decoded.pointee.pts) * av_q2d(decoder.timeBase)
            let outRate = Double(encoder.pointee.sample_rate) * Double(factor)
            firstPts = Int64((start * outRate).rounded())
            if let sourceEnd { target = max(0, Int64(((sourceEnd - start) * outRate).rounded())) }
            var out = ""
            let layout = try Self.describe(&encoder.pointee.ch_layout)
            let format = av_get_sample_fmt_name(encoder.pointee.sample_fmt).map { String(cString: $0) } ?? "fltp"
            let chain = factor > 1 ? Self.filters(slowdown: Double(factor)) + "," : ""
            out = chain + "aformat=sample_fmts=\(format):sample_rates=\(encoder.pointee.sample_rate):channel_layouts=\(layout)"
            // Endless silence after the source ends; `drainGraph` stops at the target length.
            if target != nil { out += ",apad" }
            graph = try AudioFilterGraph(filters: out, input: decoded, timeBase: inputTB)
            if encoder.pointee.frame_size > 0 { graph!.setFrameSize(encoder.pointee.frame_size) }
        }
        guard let graph else { return }
        guard graph.accepts(decoded) else { throw MediaError.unsupported("audio format changes mid-stream") }
        if decoded.pointee.pts != noPTS { decoded.pointee.pts = av_rescale_q(decoded.pointee.pts, decoder.timeBase, inputTB) }
        try graph.push(decoded)
        try drainGraph(emit: emit)
    }

    /// Encodes what the graph holds, with contiguous timestamps from `firstPts`, cut at `target`.
    private func drainGraph(emit: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        guard let graph else { return }
        while true {
            if let target, written >= target { inputDone = true; return }
            guard try graph.pull(into: frame) else { return }
            defer { av_frame_unref(frame) }
            if let target { frame.pointee.nb_samples = Int32(min(Int64(frame.pointee.nb_samples), target - written)) }
            frame.pointee.pts = firstPts + written
            written += Int64(frame.pointee.nb_samples)
            try check(avcodec_send_frame(encoder, frame), "encode audio")
            try drainEncoder(emit: emit)
        }
    }

    private func drainEncoder(emit: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        while true {
            let status = avcodec_receive_packet(encoder, packet)
            if status == averrorEAGAIN || status == averrorEOF { return }
            try check(status, "encode audio")
            defer { av_packet_unref(packet) }
            try emit(packet)
        }
    }

    private static func supported(_ list: UnsafePointer<Int32>?, contains value: Int32) -> Bool {
        guard var p = list else { return true }
        while p.pointee != 0 {
            if p.pointee == value { return true }
            p += 1
        }
        return false
    }

    private static func supported(_ list: UnsafePointer<AVChannelLayout>?, contains layout: UnsafePointer<AVChannelLayout>) -> Bool {
        guard var p = list else { return true }
        while p.pointee.nb_channels != 0 {
            if av_channel_layout_compare(p, layout) == 0 { return true }
            p += 1
        }
        return false
    }

    static func describe(_ layout: UnsafePointer<AVChannelLayout>) throws -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        try check(av_channel_layout_describe(layout, &buffer, buffer.count), "describe channel layout")
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A libavfilter audio graph with one input and one output: the audio twin of `FilterGraph`.
/// Internal, like the frames it takes.
final class AudioFilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    private let sampleRate: Int32
    private let format: Int32
    private var layout = AVChannelLayout()

    /// - Parameters:
    ///   - input: a frame with the format, rate and channel layout every pushed frame will have.
    ///   - timeBase: time base of pushed frames' pts.
    init(filters: String, input: UnsafeMutablePointer<AVFrame>, timeBase: AVRational) throws {
        _ = LibavRuntime.configured
        sampleRate = input.pointee.sample_rate
        format = input.pointee.format
        if input.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&layout, input.pointee.ch_layout.nb_channels)
        } else {
            try check(av_channel_layout_copy(&layout, &input.pointee.ch_layout), "audio channel layout")
        }
        guard let g = avfilter_graph_alloc() else { throw MediaError.libav("allocate audio filter graph", code: reframe_averror_enomem()) }
        graph = g
        var src: UnsafeMutablePointer<AVFilterContext>?
        var snk: UnsafeMutablePointer<AVFilterContext>?
        do {
            let formatName = av_get_sample_fmt_name(AVSampleFormat(rawValue: format)).map { String(cString: $0) } ?? "\(format)"
            let args = "time_base=\(timeBase.num)/\(timeBase.den):sample_rate=\(sampleRate):sample_fmt=\(formatName)"
                + ":channel_layout=\(try AudioStretcher.describe(&layout))"
            try check(avfilter_graph_create_filter(&src, avfilter_get_by_name("abuffer"), "in", args, nil, g), "audio buffer source")
            try check(avfilter_graph_create_filter(&snk, avfilter_get_by_name("abuffersink"), "out", nil, nil, g), "audio buffer sink")
            guard let src, let snk else { throw MediaError.unsupported("audio filter endpoints") }
            source = src
            sink = snk
            try linkFilterChain(g, source: src, sink: snk, filters: filters, what: "audio filters '\(filters)'")
        } catch {
            avfilter_graph_free(&graph)
            av_channel_layout_uninit(&layout)
            throw error
        }
    }

    deinit {
        avfilter_graph_free(&graph)
        av_channel_layout_uninit(&layout)
    }

    /// Makes the sink hand out frames of exactly `samples` (the last may be shorter), as encoders want.
    func setFrameSize(_ samples: Int32) { av_buffersink_set_frame_size(sink, UInt32(samples)) }

    /// Whether `frame` has the format the graph was built for.
    func accepts(_ frame: UnsafeMutablePointer<AVFrame>) -> Bool {
        frame.pointee.sample_rate == sampleRate && frame.pointee.format == format
            && frame.pointee.ch_layout.nb_channels == layout.nb_channels
    }

    /// Feeds one frame (the graph takes its own reference), or nil at the end of input.
    func push(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        if let frame {
            try check(av_buffersrc_write_frame(source, frame), "push audio frame")
        } else {
            try check(av_buffersrc_add_frame(source, nil), "end of audio input")
        }
    }

    /// Takes the next available frame into `frame`; false when none is ready (more input needed, or the end).
    func pull(into frame: UnsafeMutablePointer<AVFrame>) throws -> Bool {
        let status = av_buffersink_get_frame(sink, frame)
        if status == averrorEAGAIN || status == averrorEOF { return false }
        try check(status, "pull audio frame")
        return true
    }
}
