import CFFmpeg
import Core

/// Re-encodes one text subtitle stream into a text codec the output container can carry (subrip,
/// ASS or WebVTT → `mov_text` for MP4/MOV; `mov_text` → `subrip` for Matroska). Each source packet
/// becomes at most one output packet with the same start and duration, in the source stream's time
/// base, so the muxer times it exactly as it would time a copied packet (slow motion included).
final class SubtitleConverter {
    /// Largest encoded cue: a text cue of this size is far beyond any real subtitle.
    static let maximumCueBytes = 1 << 20

    private let decoder: UnsafeMutablePointer<AVCodecContext>
    private let encoder: UnsafeMutablePointer<AVCodecContext>
    /// Time base of the source stream's packets, which the converted packets keep.
    private let timeBase: AVRational
    private let packet: UnsafeMutablePointer<AVPacket>

    /// - Parameters:
    ///   - stream: the source text subtitle stream; its packets come through `convert`.
    ///   - codec: the text subtitle codec to produce.
    init(stream: UnsafeMutablePointer<AVStream>, to codec: AVCodecID) throws {
        _ = LibavRuntime.configured
        let par = stream.pointee.codecpar!
        let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "?"
        guard let decoderCodec = avcodec_find_decoder(par.pointee.codec_id) else { throw MediaError.unsupported("no decoder for subtitle codec \(name)") }
        guard let encoderCodec = avcodec_find_encoder(codec) else {
            throw MediaError.unsupported("no \(avcodec_get_name(codec).map { String(cString: $0) } ?? "?") encoder in this FFmpeg build")
        }
        var decoderOpt = avcodec_alloc_context3(decoderCodec), encoderOpt = avcodec_alloc_context3(encoderCodec)
        let packetOpt = av_packet_alloc()
        guard let decoder = decoderOpt, let encoder = encoderOpt, let packet = packetOpt else {
            avcodec_free_context(&decoderOpt)
            avcodec_free_context(&encoderOpt)
            var p = packetOpt
            av_packet_free(&p)
            throw MediaError.libav("allocate subtitle converter", code: reframe_averror_enomem())
        }
        self.decoder = decoder
        self.encoder = encoder
        self.packet = packet
        timeBase = stream.pointee.time_base
        // deinit frees all three if opening fails from here on.
        try check(avcodec_parameters_to_context(decoder, par), "subtitle decoder parameters")
        decoder.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(decoder, decoderCodec, nil), "open \(name) subtitle decoder")
        // The decoder's ASS header carries the styles (fonts, colours) the encoders start from; text
        // encoders refuse to open without one.
        if let header = decoder.pointee.subtitle_header, decoder.pointee.subtitle_header_size > 0 {
            let size = Int(decoder.pointee.subtitle_header_size)
            guard let copy = av_mallocz(size + 1) else { throw MediaError.libav("subtitle header", code: reframe_averror_enomem()) }
            copy.copyMemory(from: header, byteCount: size)
            encoder.pointee.subtitle_header = copy.assumingMemoryBound(to: UInt8.self)
            encoder.pointee.subtitle_header_size = Int32(size)
        }
        encoder.pointee.time_base = reframe_av_time_base_q()
        encoder.pointee.width = decoder.pointee.width
        encoder.pointee.height = decoder.pointee.height
        try check(avcodec_open2(encoder, encoderCodec, nil), "open subtitle encoder")
    }

    deinit {
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder
        avcodec_free_context(&d)
        var e: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&e)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Describes the output stream (codec, header) before the muxer writes its header; its time base
    /// is the muxer's to choose, as for a copied stream.
    func configure(_ stream: UnsafeMutablePointer<AVStream>) throws {
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder), "converted subtitle parameters")
    }

    /// Converts one source packet. Returns the converted cue (pts and duration in the source stream's
    /// time base, valid until the next call), or nil for a packet that holds no cue (an empty gap
    /// sample, a corrupt packet: skipped as ffmpeg skips them).
    func convert(_ source: UnsafeMutablePointer<AVPacket>) throws -> UnsafeMutablePointer<AVPacket>? {
        var subtitle = AVSubtitle()
        var got: Int32 = 0
        guard avcodec_decode_subtitle2(decoder, &subtitle, &got, source) >= 0, got != 0 else { return nil }
        defer { avsubtitle_free(&subtitle) }
        guard subtitle.num_rects > 0 else { return nil }
        // Encoders want the cue to start at the subtitle's pts: fold the display offset into it.
        let ms = AVRational(num: 1, den: 1000)
        let sourcePts = source.pointee.pts != noPTS ? source.pointee.pts : source.pointee.dts
        let base = subtitle.pts != noPTS ? subtitle.pts : av_rescale_q(sourcePts, timeBase, reframe_av_time_base_q())
        let start = base + av_rescale_q(Int64(subtitle.start_display_time), ms, reframe_av_time_base_q())
        // An unknown end (UINT32_MAX) lasts until the next cue, as a zero duration says.
        let milliseconds = subtitle.end_display_time == UInt32.max ? 0 : Int64(subtitle.end_display_time) - Int64(subtitle.start_display_time)
        subtitle.end_display_time -= subtitle.start_display_time
        subtitle.start_display_time = 0
        av_packet_unref(packet)
        try check(av_new_packet(packet, Int32(Self.maximumCueBytes)), "allocate subtitle packet")
        let size = avcodec_encode_subtitle(encoder, packet.pointee.data, Int32(Self.maximumCueBytes), &subtitle)
        try check(size, "encode subtitle")
        av_shrink_packet(packet, size)
        packet.pointee.pts = av_rescale_q(start, reframe_av_time_base_q(), timeBase)
        packet.pointee.dts = packet.pointee.pts
        packet.pointee.duration = av_rescale_q(milliseconds, ms, timeBase)
        packet.pointee.flags = AV_PKT_FLAG_KEY
        return packet
    }
}
