import CFFmpeg
import Core

/// Decodes the frames of one keyframe-aligned segment, frame-accurately, with their presentation
/// times, converted to the pipeline's working pixel format.
///
/// A frame's time is the pts its packet carried; a frame whose packet had none (MPEG program
/// streams store one per PES, AVI none at all) gets the previous frame's plus one frame interval —
/// the same rule in a straight decode, in a segment decode and in the probe's index, so all three
/// agree. Segments are entered a GOP early (see `SegmentPlanner`) and the first frame kept must be
/// the segment's first; if a seek lands wrong anyway, the segment is decoded from the file's start.
public final class SegmentDecoder {
    private let path: String
    private var input: InputFile
    private let streamIndex: Int32
    private let codecContext: UnsafeMutablePointer<AVCodecContext>
    private let workingFormat: String
    private var converter: FrameScaler?

    /// Segments whose seek landed after their keyframe and were decoded from the start instead
    /// (for the caller to log: correct, but slow on long files).
    public private(set) var entriesMissed: [String] = []
    /// True until the input has been read from: a new demuxer stands at the start of the file.
    private var fresh = true
    /// One frame interval in the stream's time base, for frames stored without a timestamp.
    private let frameInterval: Int64

    public init(path: String, workingPixelFormat: String, threads: Int = 0) throws {
        self.path = path
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
        let stream = input.stream(streamIndex).pointee
        ctx.pointee.pkt_timebase = stream.time_base
        let rate = stream.avg_frame_rate.rational ?? stream.r_frame_rate.rational ?? Rational(25, 1)
        frameInterval = stream.time_base.rational.map { max(1, rescale(1, from: rate.inverse, to: $0)) } ?? 1
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
        let endPts = segment.isLast ? nil : segment.endPts
        if segment.firstFrame == 0 {
            // The first segment starts where the file does (a seek to the very first keyframe can
            // land on the second in a container without an index).
            if !fresh { input = try InputFile(path: path) }
        } else {
            // Frames before the segment's first are pre-roll: decoded for their references, then dropped.
            try check(av_seek_frame(input.context, streamIndex, segment.seekDts, AVSEEK_FLAG_BACKWARD), "seek to segment \(segment.index)")
        }
        fresh = false
        avcodec_flush_buffers(codecContext)
        do {
            return try run(startPts: segment.startPts, endPts: endPts, lookahead: lookahead, expectFirst: segment.startPts, emit: emit)
        } catch let missed as EntryMissed {
            // Nothing was emitted yet: start over from the beginning of the file, which is always exact.
            entriesMissed.append("segment \(segment.index): first frame \(missed.first), expected \(segment.startPts)")
            input = try InputFile(path: path)
            avcodec_flush_buffers(codecContext)
            return try run(startPts: segment.startPts, endPts: endPts, lookahead: lookahead, expectFirst: segment.startPts, emit: emit)
        }
    }

    /// The first frame kept was not the segment's first: the seek landed after its keyframe.
    private struct EntryMissed: Error { var first: Int64 }

    /// Decodes the whole stream from the current position (a fresh decoder starts at the beginning).
    @discardableResult
    public func decodeAll(emit: (VideoFrame) throws -> Void) throws -> Int {
        try run(startPts: Int64.min, endPts: nil, lookahead: false, emit: emit)
    }

    /// Every frame's pts and whether it is a keyframe, in presentation order, without converting
    /// pixels: the probe's index for containers that do not store a pts per packet.
    func scanTimestamps(_ body: (_ pts: Int64, _ isKey: Bool, _ packetDts: Int64) -> Void) throws {
        fresh = false
        _ = try decodeFrames(startPts: Int64.min, endPts: nil, lookahead: false, expectFirst: nil) { frame, pts in
            let dts = frame.pointee.pkt_dts
            body(pts, frame.pointee.key_frame != 0 || frame.pointee.pict_type == AV_PICTURE_TYPE_I, dts == noPTS ? pts : dts)
        }
    }

    private func run(startPts: Int64, endPts: Int64?, lookahead: Bool, expectFirst: Int64? = nil,
                     emit: (VideoFrame) throws -> Void) throws -> Int {
        fresh = false
        return try decodeFrames(startPts: startPts, endPts: endPts, lookahead: lookahead, expectFirst: expectFirst) { frame, pts in
            try emit(try convert(frame, pts: pts))
        }
    }

    /// The decode loop: frames with pts in [startPts, endPts) (plus the lookahead) go to `body`.
    private func decodeFrames(startPts: Int64, endPts: Int64?, lookahead: Bool, expectFirst: Int64?,
                              body: (UnsafeMutablePointer<AVFrame>, Int64) throws -> Void) throws -> Int {
        guard let packet = av_packet_alloc(), let frame = av_frame_alloc() else {
            throw MediaError.libav("allocate", code: reframe_averror_enomem())
        }
        var pkt: UnsafeMutablePointer<AVPacket>? = packet
        var frm: UnsafeMutablePointer<AVFrame>? = frame
        defer { av_packet_free(&pkt); av_frame_free(&frm) }

        var emitted = 0
        var done = false
        var lastPts = Int64.min
        var previous: Int64?  // the last decoded frame's time, kept or not
        func drain() throws {
            while !done {
                let status = avcodec_receive_frame(codecContext, frame)
                if status == averrorEAGAIN || status == averrorEOF { return }
                try check(status, "decode")
                defer { av_frame_unref(frame) }
                var pts = frame.pointee.pts
                if pts == noPTS { pts = previous.map { $0 + frameInterval } ?? frame.pointee.best_effort_timestamp }
                guard pts != noPTS else { continue }
                previous = pts
                guard pts > lastPts else { continue }
                if pts < startPts { continue }
                if emitted == 0, let expectFirst, pts != expectFirst { throw EntryMissed(first: pts) }
                let isLookahead = endPts.map { pts >= $0 } ?? false
                if isLookahead && !lookahead { done = true; return }
                lastPts = pts
                try body(frame, pts)
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
