import CFFmpeg
import Core

/// Decodes the frames of one keyframe-aligned segment, frame-accurately, with their presentation
/// times, converted to the pipeline's working pixel format.
public final class SegmentDecoder {
    private let input: InputFile
    private let streamIndex: Int32
    private let codecContext: UnsafeMutablePointer<AVCodecContext>
    private let workingFormat: String
    private var converter: FrameScaler?

    public init(path: String, workingPixelFormat: String, threads: Int = 0) throws {
        input = try InputFile(path: path)
        streamIndex = try input.videoStreamIndex()
        workingFormat = workingPixelFormat
        let par = input.stream(streamIndex).pointee.codecpar
        guard let codec = avcodec_find_decoder(par!.pointee.codec_id) else {
            throw MediaError.unsupported("no decoder for \(avcodec_get_name(par!.pointee.codec_id).map { String(cString: $0) } ?? "codec")")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.libav("allocate decoder", code: reframe_averror_enomem()) }
        codecContext = ctx
        try check(avcodec_parameters_to_context(ctx, par), "decoder parameters")
        ctx.pointee.thread_count = Int32(threads)
        ctx.pointee.pkt_timebase = input.stream(streamIndex).pointee.time_base
        try check(avcodec_open2(ctx, codec, nil), "open decoder")
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = codecContext
        avcodec_free_context(&ctx)
    }

    /// Emits the segment's frames in presentation order (pts in the source time base), then — if
    /// `lookahead` — the first frame after the segment. Returns the number of frames emitted.
    @discardableResult
    public func decode(segment: SegmentPlan, lookahead: Bool, emit: (VideoFrame) throws -> Void) throws -> Int {
        // Seek by decode time to the segment's keyframe; anything earlier that still comes out is dropped by pts.
        try check(av_seek_frame(input.context, streamIndex, segment.seekDts, AVSEEK_FLAG_BACKWARD), "seek to segment \(segment.index)")
        avcodec_flush_buffers(codecContext)
        return try run(startPts: segment.startPts, endPts: segment.isLast ? nil : segment.endPts, lookahead: lookahead, emit: emit)
    }

    /// Decodes the whole stream from the current position (a fresh decoder starts at the beginning).
    @discardableResult
    public func decodeAll(emit: (VideoFrame) throws -> Void) throws -> Int {
        try run(startPts: Int64.min, endPts: nil, lookahead: false, emit: emit)
    }

    private func run(startPts: Int64, endPts: Int64?, lookahead: Bool, emit: (VideoFrame) throws -> Void) throws -> Int {
        guard let packet = av_packet_alloc(), let frame = av_frame_alloc() else {
            throw MediaError.libav("allocate", code: reframe_averror_enomem())
        }
        var pkt: UnsafeMutablePointer<AVPacket>? = packet
        var frm: UnsafeMutablePointer<AVFrame>? = frame
        defer { av_packet_free(&pkt); av_frame_free(&frm) }

        var emitted = 0
        var done = false
        var lastPts = Int64.min
        func drain() throws {
            while !done {
                let status = avcodec_receive_frame(codecContext, frame)
                if status == averrorEAGAIN || status == averrorEOF { return }
                try check(status, "decode")
                defer { av_frame_unref(frame) }
                var pts = frame.pointee.best_effort_timestamp
                if pts == noPTS { pts = frame.pointee.pts }
                guard pts != noPTS, pts > lastPts else { continue }
                if pts < startPts { continue }
                let isLookahead = endPts.map { pts >= $0 } ?? false
                if isLookahead && !lookahead { done = true; return }
                lastPts = pts
                try emit(try convert(frame, pts: pts))
                emitted += 1
                if isLookahead { done = true }
            }
        }
        while !done {
            let status = av_read_frame(input.context, packet)
            if status == averrorEOF { break }
            try check(status, "read packet")
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(codecContext, packet)
            // Corrupt packets are skipped like ffmpeg does; the frame count check downstream catches losses.
            if sent < 0 && sent != averrorEAGAIN { continue }
            try drain()
        }
        if !done {
            _ = avcodec_send_packet(codecContext, nil)
            try drain()
        }
        return emitted
    }

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>, pts: Int64) throws -> VideoFrame {
        let format = PixelFormat.name(AVPixelFormat(rawValue: frame.pointee.format))
        let raw = VideoFrame(width: Int(frame.pointee.width), height: Int(frame.pointee.height), pixelFormat: format,
                             data: try PixelFormat.copy(frame), pts: pts)
        if format == workingFormat { return raw }
        if converter == nil || converter!.source.width != raw.width || converter!.source.height != raw.height
            || converter!.source.pixelFormat != format {
            converter = try FrameScaler(from: (raw.width, raw.height, format), to: (raw.width, raw.height, workingFormat), filter: .bicubic)
        }
        return try converter!.scale(raw)
    }
}
