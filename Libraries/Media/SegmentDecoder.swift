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

    /// Interlaced sources: frames are deinterlaced (bwdif) with this field order.
    public let deinterlace: FieldOrder?
    /// Deinterlacing at field rate: two frames per source frame, on the field timeline (see
    /// FieldTimeline.swift) — segments are given and frames emitted in its halved time base.
    public let fieldRate: Bool

    public init(path: String, workingPixelFormat: String, threads: Int = 0, deinterlace: FieldOrder? = nil, fieldRate: Bool = false) throws {
        self.path = path
        self.deinterlace = deinterlace
        self.fieldRate = deinterlace != nil && fieldRate
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

    /// Emits the segment's frames in presentation order (pts in the source time base, or the field
    /// timeline's), then — if `lookahead` — the first frame after the segment. Returns the number of
    /// frames emitted.
    @discardableResult
    public func decode(segment: SegmentPlan, lookahead: Bool, emit: (VideoFrame) throws -> Void) throws -> Int {
        // Seeking and selecting go by the source frames the segment's fields come from.
        let segment = fieldRate ? segment.onSourceTimeline : segment
        let endPts = segment.isLast ? nil : segment.endPts
        if segment.firstFrame == 0 {
            // The first segment starts where the file does (a seek to the very first keyframe can
            // land on the second in a container without an index).
            if !fresh { input = try InputFile(path: path) }
            fresh = false
            avcodec_flush_buffers(codecContext)
            return try fromStart(segment, endPts: endPts, lookahead: lookahead, hasFrameBefore: false, emit: emit)
        }
        // Frames before the segment's first are pre-roll: decoded for their references, then dropped.
        // Containers without an index (program streams) can land a GOP late; each retry enters a GOP
        // or two earlier, and the last resort decodes from the start of the file, which is always exact.
        let span = max(1, segment.startPts - segment.seekDts)
        for (attempt, back) in [Int64(0), span, 3 * span].enumerated() {
            try check(av_seek_frame(input.context, streamIndex, segment.seekDts - back, AVSEEK_FLAG_BACKWARD), "seek to segment \(segment.index)")
            fresh = false
            avcodec_flush_buffers(codecContext)
            do {
                return try run(startPts: segment.startPts, endPts: endPts, lookahead: lookahead, expectFirst: segment.startPts,
                               hasFrameBefore: true, emit: emit)
            } catch let missed as EntryMissed {
                entriesMissed.append("segment \(segment.index), entry \(attempt + 1): \(missed.reason)")
            }
        }
        input = try InputFile(path: path)
        avcodec_flush_buffers(codecContext)
        return try fromStart(segment, endPts: endPts, lookahead: lookahead, hasFrameBefore: true, emit: emit)
    }

    /// Decodes `segment` reading from the start of the file: exact wherever its frames are; a first
    /// frame other than the planned one now means the index does not describe this file.
    private func fromStart(_ segment: SegmentPlan, endPts: Int64?, lookahead: Bool, hasFrameBefore: Bool,
                           emit: (VideoFrame) throws -> Void) throws -> Int {
        do {
            return try run(startPts: segment.startPts, endPts: endPts, lookahead: lookahead, expectFirst: segment.startPts,
                           hasFrameBefore: hasFrameBefore, emit: emit)
        } catch let missed as EntryMissed {
            throw MediaError.invalidData("segment \(segment.index) does not start where the probe found it (\(missed.reason)); the file changed or is damaged")
        }
    }

    /// The seek landed too late: after the segment's keyframe, or (deinterlacing, which reads the
    /// frame before the segment) after the keyframe that frame depends on. Nothing was emitted.
    private struct EntryMissed: Error { var reason: String }

    /// Decodes the whole stream from the current position (a fresh decoder starts at the beginning).
    @discardableResult
    public func decodeAll(emit: (VideoFrame) throws -> Void) throws -> Int {
        try run(startPts: Int64.min, endPts: nil, lookahead: false, emit: emit)
    }

    /// Every frame's pts and whether it is a keyframe, in presentation order, without converting
    /// pixels: the probe's index for containers that do not store a pts per packet.
    func scanTimestamps(_ body: (_ pts: Int64, _ isKey: Bool, _ keyDts: Int64) -> Void) throws {
        fresh = false
        // A keyframe's own dts is its packet's (the frame's pkt_dts is that of the packet that made
        // the decoder return it, a frame or more later): key packets and key frames pair up in order.
        var keyPacketDts: [Int64] = []
        _ = try decodeFrames(startPts: Int64.min, endPts: nil, lookahead: false, expectFirst: nil, onPacket: { packet in
            if packet.pointee.flags & AV_PKT_FLAG_KEY != 0, packet.pointee.dts != noPTS { keyPacketDts.append(packet.pointee.dts) }
        }) { frame, pts in
            let isKey = frame.pointee.key_frame != 0 || frame.pointee.pict_type == AV_PICTURE_TYPE_I
            body(pts, isKey, isKey && !keyPacketDts.isEmpty ? keyPacketDts.removeFirst() : pts)
        }
    }

    /// `hasFrameBefore`: the segment is not the file's first, so a frame precedes it.
    private func run(startPts: Int64, endPts: Int64?, lookahead: Bool, expectFirst: Int64? = nil, hasFrameBefore: Bool = false,
                     emit: (VideoFrame) throws -> Void) throws -> Int {
        fresh = false
        if let deinterlace {
            return try runDeinterlaced(order: deinterlace, startPts: startPts, endPts: endPts, lookahead: lookahead, expectFirst: expectFirst,
                                       hasFrameBefore: hasFrameBefore, emit: emit)
        }
        return try decodeFrames(startPts: startPts, endPts: endPts, lookahead: lookahead, expectFirst: expectFirst) { frame, pts in
            try emit(try convert(frame, pts: pts))
        }
    }

    /// Stops the decode loop from inside its body.
    private struct Stop: Error {}

    /// Like `run`, through bwdif. Each output frame depends on its neighbours, so the frame before
    /// the segment (from the pre-roll) and the one after what is emitted are decoded and fed too;
    /// their own outputs are dropped. A segment's frames then equal a straight deinterlaced decode.
    /// `startPts`, `endPts` and the lookahead are source times; at field rate, source frame i emits
    /// fields at `2·pts_i` and `pts_i + pts_{i+1}`, kept when they fall in the doubled bounds. The
    /// last frame of the file has no successor: bwdif then takes `2·pts_L − pts_{L−1}`, so its second
    /// field sits half the previous interval after it, as in `ffmpeg -vf bwdif=mode=send_field`.
    private func runDeinterlaced(order: FieldOrder, startPts: Int64, endPts: Int64?, lookahead: Bool, expectFirst: Int64?,
                                 hasFrameBefore: Bool, emit: (VideoFrame) throws -> Void) throws -> Int {
        let parity = order == .bottomFieldFirst ? "bff" : "tff"
        let mode = fieldRate ? "send_field" : "send_frame"
        let timeBase = input.stream(streamIndex).pointee.time_base.rational ?? Rational(1, 90000)
        let scale: Int64 = fieldRate ? 2 : 1
        let emitTimeBase = timeBase * Rational(1, scale)
        var graph: FilterGraph?
        var before: UnsafeMutablePointer<AVFrame>?
        defer { av_frame_free(&before) }
        var beforePts = Int64.min
        var keyframeBefore = false
        var started = false
        var lookaheadPts: Int64?
        var emitted = 0
        let first = startPts == Int64.min ? startPts : startPts * scale  // Int64.min: from the file's start
        func wanted(_ pts: Int64) -> Bool {
            pts >= first && (endPts.map { pts < $0 * scale } ?? true || pts == lookaheadPts.map { $0 * scale })
        }
        func push(_ frame: VideoFrame) throws {
            if graph == nil {
                graph = try FilterGraph(filters: "bwdif=mode=\(mode):parity=\(parity):deint=all", width: frame.width, height: frame.height,
                                        pixelFormat: frame.pixelFormat, timeBase: timeBase)
            }
            try graph!.push(frame)
            try drain()
        }
        func drain() throws {
            // bwdif halves the time base (for its field-rate mode): at frame rate, back to the stream's.
            for var out in try graph!.pull() {
                out.pts = rescale(out.pts, from: graph!.outputTimeBase, to: emitTimeBase)
                guard wanted(out.pts) else { continue }
                try emit(out)
                emitted += 1
            }
        }
        do {
            _ = try decodeFrames(startPts: Int64.min, endPts: nil, lookahead: false, expectFirst: nil) { frame, pts in
                if pts < startPts {
                    av_frame_free(&before)
                    before = av_frame_clone(frame)
                    beforePts = pts
                    if frame.pointee.key_frame != 0 { keyframeBefore = true }
                    return
                }
                if !started {
                    started = true
                    if let expectFirst, pts != expectFirst { throw EntryMissed(reason: "first frame \(pts), expected \(expectFirst)") }
                    // Past the file's first frame, bwdif needs the frame before, decoded from a keyframe on.
                    if hasFrameBefore && (before == nil || !keyframeBefore) {
                        throw EntryMissed(reason: "no frame decoded from a keyframe before frame \(pts)")
                    }
                    if let before { try push(try convert(before, pts: beforePts)) }
                }
                let isPast = endPts.map { pts >= $0 } ?? false
                if isPast && (!lookahead || lookaheadPts != nil) {
                    try push(try convert(frame, pts: pts))  // the neighbour of the last frame emitted
                    throw Stop()
                }
                if isPast { lookaheadPts = pts }
                try push(try convert(frame, pts: pts))
            }
            // The end of the file: the last frame has no successor, as in a straight decode.
            if let graph {
                try graph.finish()
                try drain()
            }
        } catch is Stop {}
        return emitted
    }

    /// The decode loop: frames with pts in [startPts, endPts) (plus the lookahead) go to `body`.
    private func decodeFrames(startPts: Int64, endPts: Int64?, lookahead: Bool, expectFirst: Int64?,
                              onPacket: ((UnsafeMutablePointer<AVPacket>) -> Void)? = nil,
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
                if emitted == 0, let expectFirst, pts != expectFirst { throw EntryMissed(reason: "first frame \(pts), expected \(expectFirst)") }
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
            onPacket?(packet)
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
