import CFFmpeg
import Core
import Foundation

/// Joins encoded segments into the output file without re-encoding, copying audio and subtitle
/// streams from the source, interleaved by time. What the container (or its players) cannot carry is
/// re-encoded (audio to AAC, text subtitles to `mov_text` or `subrip`) or skipped, each with a reason
/// (`Report.notes`). Segments are appended one at a time so memory stays bounded by one segment.
/// Writes to `<output>.part` and renames on `finish()`, so a reader never sees a half-written file
/// and a crashed finalize can simply run again.
///
/// For slow motion the source's audio can instead be time-stretched (`AudioStretch`): decoded,
/// slowed down with its pitch kept and re-encoded to AAC as the video is appended.
public final class SegmentMuxer {
    public struct Report: Sendable, Equatable {
        public var videoFrames: Int
        public var audioStreams: Int
        public var subtitleStreams: Int
        public var skippedStreams: [String]
        /// Audio streams (among `audioStreams`) time-stretched rather than copied.
        public var stretchedAudioStreams = 0
        /// Audio streams re-encoded to AAC because the container (or its players) cannot carry
        /// the source codec, each with the reason.
        public var reencodedAudio: [String] = []
        /// Text subtitle streams (among `subtitleStreams`) converted to a codec the container carries,
        /// each with the reason.
        public var convertedSubtitles: [String] = []

        /// What a user should know about the output's streams: every re-encoding, conversion and
        /// skipped stream, each a sentence naming the source stream.
        public var notes: [String] { reencodedAudio + convertedSubtitles + skippedStreams }
    }

    /// Whether an audio codec is copied into a container as it is: MP4 and MOV get only what
    /// players read there (a Vorbis or MP2 track in an MP4 is legal for the muxer, but most
    /// players refuse the file); Matroska takes whatever its muxer accepts.
    static func copiesAudio(_ codec: AVCodecID, into formatName: String, format: UnsafePointer<AVOutputFormat>) -> Bool {
        switch formatName {
        case "mp4":
            return [AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_ALAC].contains(codec)
        case "mov":
            return [AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_ALAC,
                    AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE, AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S24BE].contains(codec)
        default:
            return avformat_query_codec(format, codec, FF_COMPLIANCE_NORMAL) == 1
        }
    }

    /// What becomes of a source subtitle stream in an output container.
    enum SubtitleTreatment: Equatable {
        case copy
        case convert(to: AVCodecID)
        case skip(reason: String)
    }

    /// MP4 and MOV carry text subtitles as `mov_text` only (the muxer stores nothing else that players
    /// show), so other text codecs are converted and bitmap ones skipped; Matroska stores what its
    /// muxer accepts (SubRip, ASS, WebVTT, DVD and PGS bitmaps) and gets SubRip for any other text.
    static func subtitleTreatment(_ codec: AVCodecID, into formatName: String, format: UnsafePointer<AVOutputFormat>) -> SubtitleTreatment {
        let properties = avcodec_descriptor_get(codec)?.pointee.props ?? 0
        let isText = properties & AV_CODEC_PROP_TEXT_SUB != 0, isBitmap = properties & AV_CODEC_PROP_BITMAP_SUB != 0
        switch formatName {
        case "mp4", "mov":
            if codec == AV_CODEC_ID_MOV_TEXT { return .copy }
            if isText { return .convert(to: AV_CODEC_ID_MOV_TEXT) }
            if isBitmap { return .skip(reason: "bitmap subtitles cannot become mov_text; use .mkv to keep them") }
        default:
            if avformat_query_codec(format, codec, FF_COMPLIANCE_NORMAL) == 1 { return .copy }
            if isText { return .convert(to: AV_CODEC_ID_SUBRIP) }
        }
        return .skip(reason: "\(formatName) cannot store it")
    }

    /// Slow-motion audio: every source audio stream slowed down by `factor` (pitch kept, re-encoded to
    /// AAC), subtitles' times multiplied by it, so both follow the slowed-down video.
    public struct AudioStretch: Sendable, Equatable {
        /// Output duration ÷ source duration: the interpolation factor of slow motion.
        public var factor: Int
        /// Where the video ends, in source seconds: stretched audio is cut or padded (up to a second of
        /// source time) to end at `sourceEnd·factor`, with the video. Nil: as long as the source audio.
        public var sourceEnd: Double?

        public init(factor: Int, sourceEnd: Double? = nil) {
            self.factor = factor
            self.sourceEnd = sourceEnd
        }
    }

    private let outputPath: String
    private let partPath: String
    private let oc: UnsafeMutablePointer<AVFormatContext>
    private var video: UnsafeMutablePointer<AVStream>!
    private let first: EncodedSegment.Header
    private let source: InputFile?
    private var copied: [Int32: UnsafeMutablePointer<AVStream>] = [:]
    private var stretched: [Int32: (stretcher: AudioStretcher, stream: UnsafeMutablePointer<AVStream>)] = [:]
    private var converted: [Int32: (converter: SubtitleConverter, stream: UnsafeMutablePointer<AVStream>)] = [:]
    /// Source timestamps are multiplied by this on the way out (the stretch factor, else 1).
    private let timeScale: AVRational
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var pending: UnsafeMutablePointer<AVPacket>?
    private var pendingValid = false
    private var sourceDone: Bool
    private var lastDts = Int64.min
    private var report: Report
    private var finished = false

    /// - Parameters:
    ///   - first: header of the first segment (all segments must match it).
    ///   - audioSource: file whose audio and subtitle streams are copied, or nil to drop them.
    ///   - stretch: time-stretch `audioSource`'s audio instead of copying it (slow motion).
    public init(outputPath: String, first: EncodedSegment.Header, audioSource: String?, stretch: AudioStretch? = nil) throws {
        _ = LibavRuntime.configured
        self.outputPath = outputPath
        partPath = outputPath + ".part"
        self.first = first
        if let stretch, stretch.factor < 1 { throw MediaError.invalidData("audio stretch factor \(stretch.factor) must be at least 1") }
        timeScale = AVRational(num: Int32(stretch?.factor ?? 1), den: 1)
        let ext = (outputPath as NSString).pathExtension.lowercased()
        let formatName = ext == "mkv" ? "matroska" : (ext == "mov" ? "mov" : "mp4")
        // Opened before the muxer context, which nothing would free if this threw after it.
        source = try audioSource.map { try InputFile(path: $0) }
        var ocOpt: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&ocOpt, nil, formatName, partPath), "create \(formatName) muxer")
        guard let oc = ocOpt else { throw MediaError.unsupported("muxer \(formatName)") }
        self.oc = oc
        report = Report(videoFrames: 0, audioStreams: 0, subtitleStreams: 0, skippedStreams: [])
        sourceDone = true
        do {
            video = try Self.addVideoStream(oc, first, formatName: formatName)
            try addCopiedStreams(formatName: formatName, stretch: stretch)
            sourceDone = copied.isEmpty && stretched.isEmpty && converted.isEmpty
            try check(avio_open(&oc.pointee.pb, partPath, AVIO_FLAG_WRITE), "open \(partPath)")
            var options: OpaquePointer?
            defer { av_dict_free(&options) }
            if formatName != "matroska" { av_dict_set(&options, "movflags", "+faststart", 0) }
            try check(avformat_write_header(oc, &options), "write header")
            packet = av_packet_alloc()
            pending = av_packet_alloc()
            guard packet != nil, pending != nil else { throw MediaError.libav("allocate", code: reframe_averror_enomem()) }
            try readSource()
        } catch {
            close()
            unlink(partPath)
            throw error
        }
    }

    deinit {
        close()
        if !finished { unlink(partPath) }
    }

    private var closed = false

    private func close() {
        guard !closed else { return }
        closed = true
        if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
        av_packet_free(&packet)
        av_packet_free(&pending)
        avformat_free_context(oc)
    }

    private static func addVideoStream(_ oc: UnsafeMutablePointer<AVFormatContext>, _ h: EncodedSegment.Header,
                                       formatName: String) throws -> UnsafeMutablePointer<AVStream> {
        guard let encoder = avcodec_find_encoder_by_name(h.codec) else { throw MediaError.unsupported("codec \(h.codec)") }
        guard let video = avformat_new_stream(oc, nil) else { throw MediaError.libav("add video stream", code: reframe_averror_enomem()) }
        let par = video.pointee.codecpar!
        par.pointee.codec_type = AVMEDIA_TYPE_VIDEO
        par.pointee.codec_id = encoder.pointee.id
        par.pointee.width = Int32(h.width)
        par.pointee.height = Int32(h.height)
        par.pointee.format = try PixelFormat.lookup(h.pixelFormat).rawValue
        par.pointee.sample_aspect_ratio = h.sampleAspectRatio.av
        if !h.extradata.isEmpty {
            let size = h.extradata.count
            guard let buffer = av_mallocz(size + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else {
                throw MediaError.libav("extradata", code: reframe_averror_enomem())
            }
            h.extradata.copyBytes(to: buffer.assumingMemoryBound(to: UInt8.self), count: size)
            par.pointee.extradata = buffer.assumingMemoryBound(to: UInt8.self)
            par.pointee.extradata_size = Int32(size)
        }
        // hvc1 is what Apple players require for HEVC in MP4.
        if h.codec == "libx265" && formatName != "matroska" { par.pointee.codec_tag = fourcc("hvc1") }
        video.pointee.time_base = h.timeBase.av
        video.pointee.avg_frame_rate = h.frameRate.av
        video.pointee.r_frame_rate = h.frameRate.av
        video.pointee.sample_aspect_ratio = h.sampleAspectRatio.av
        return video
    }

    private func addCopiedStreams(formatName: String, stretch: AudioStretch?) throws {
        guard let source else { return }
        for index in source.streams(of: AVMEDIA_TYPE_AUDIO) {
            try addAudioStream(index, source.stream(index), formatName: formatName, stretch: stretch)
        }
        for index in source.streams(of: AVMEDIA_TYPE_SUBTITLE) {
            try addSubtitleStream(index, source.stream(index), formatName: formatName)
        }
    }

    private static func codecName(_ stream: UnsafeMutablePointer<AVStream>) -> String {
        avcodec_get_name(stream.pointee.codecpar.pointee.codec_id).map { String(cString: $0) } ?? "?"
    }

    private func skip(_ index: Int32, _ inStream: UnsafeMutablePointer<AVStream>, because reason: String) {
        report.skippedStreams.append("stream \(index) (\(Self.codecName(inStream))) skipped: \(reason)")
    }

    /// A new output stream that keeps the source stream's language, title and disposition.
    private func newStream(like inStream: UnsafeMutablePointer<AVStream>) throws -> UnsafeMutablePointer<AVStream> {
        guard let out = avformat_new_stream(oc, nil) else { throw MediaError.libav("add stream", code: reframe_averror_enomem()) }
        av_dict_copy(&out.pointee.metadata, inStream.pointee.metadata, 0)
        out.pointee.disposition = inStream.pointee.disposition
        return out
    }

    private func addAudioStream(_ index: Int32, _ inStream: UnsafeMutablePointer<AVStream>, formatName: String, stretch: AudioStretch?) throws {
        let codecId = inStream.pointee.codecpar.pointee.codec_id, name = Self.codecName(inStream)
        let reencode = stretch == nil && !Self.copiesAudio(codecId, into: formatName, format: oc.pointee.oformat)
        guard stretch != nil || reencode else { return try addCopy(index, inStream, formatName: formatName) }
        // Re-encoding is a stretch by 1 (atempo=1 passes the samples through).
        let stretcher: AudioStretcher
        do {
            stretcher = try AudioStretcher(stream: inStream, factor: stretch?.factor ?? 1, sourceEnd: stretch?.sourceEnd,
                                           globalHeader: oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0)
        } catch {
            return skip(index, inStream, because: "cannot be \(reencode ? "re-encoded" : "time-stretched"): \(error)")
        }
        let out = try newStream(like: inStream)
        try stretcher.configure(out)
        stretched[index] = (stretcher, out)
        report.audioStreams += 1
        if reencode {
            report.reencodedAudio.append("stream \(index) (\(name)) re-encoded to AAC: \(name) does not play in \(formatName)")
        } else {
            report.stretchedAudioStreams += 1
        }
    }

    private func addSubtitleStream(_ index: Int32, _ inStream: UnsafeMutablePointer<AVStream>, formatName: String) throws {
        let name = Self.codecName(inStream)
        switch Self.subtitleTreatment(inStream.pointee.codecpar.pointee.codec_id, into: formatName, format: oc.pointee.oformat) {
        case .copy:
            try addCopy(index, inStream, formatName: formatName)
        case .skip(let reason):
            skip(index, inStream, because: reason)
        case .convert(let target):
            let targetName = avcodec_get_name(target).map { String(cString: $0) } ?? "?"
            let converter: SubtitleConverter
            do { converter = try SubtitleConverter(stream: inStream, to: target) } catch {
                return skip(index, inStream, because: "cannot be converted to \(targetName): \(error)")
            }
            let out = try newStream(like: inStream)
            try converter.configure(out)
            out.pointee.time_base = av_mul_q(inStream.pointee.time_base, timeScale)
            converted[index] = (converter, out)
            report.subtitleStreams += 1
            report.convertedSubtitles.append("stream \(index) (\(name)) converted to \(targetName): \(formatName) cannot carry \(name)")
        }
    }

    private func addCopy(_ index: Int32, _ inStream: UnsafeMutablePointer<AVStream>, formatName: String) throws {
        guard avformat_query_codec(oc.pointee.oformat, inStream.pointee.codecpar.pointee.codec_id, FF_COMPLIANCE_NORMAL) == 1 else {
            return skip(index, inStream, because: "\(formatName) cannot store it")
        }
        let out = try newStream(like: inStream)
        try check(avcodec_parameters_copy(out.pointee.codecpar, inStream.pointee.codecpar), "copy stream parameters")
        out.pointee.codecpar.pointee.codec_tag = 0
        out.pointee.time_base = av_mul_q(inStream.pointee.time_base, timeScale)
        copied[index] = out
        if inStream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO { report.audioStreams += 1 } else { report.subtitleStreams += 1 }
    }

    /// Loads the next copied packet into `pending`.
    private func readSource() throws {
        guard !sourceDone, let source, let pending else { return }
        while true {
            let status = av_read_frame(source.context, pending)
            if status == averrorEOF { sourceDone = true; pendingValid = false; return }
            try check(status, "read source")
            let index = pending.pointee.stream_index
            if copied[index] != nil || stretched[index] != nil || converted[index] != nil, pending.pointee.dts != noPTS || pending.pointee.pts != noPTS {
                pendingValid = true
                return
            }
            av_packet_unref(pending)
        }
    }

    /// Writes copied (or stretched) packets that come before `ts` (in `tb`); all of them when `ts` is nil.
    private func writeSource(before ts: Int64?, _ tb: AVRational) throws {
        while pendingValid, let pending, let source {
            let index = pending.pointee.stream_index
            // Output time of a source packet: its source time × the stretch factor.
            let inTB = av_mul_q(source.stream(index).pointee.time_base, timeScale)
            let pts = pending.pointee.dts != noPTS ? pending.pointee.dts : pending.pointee.pts
            if let ts, av_compare_ts(pts, inTB, ts, tb) > 0 { return }
            if let (stretcher, out) = stretched[index] {
                try stretcher.push(pending) { try writeStretched($0, from: stretcher, to: out) }
                av_packet_unref(pending)
            } else if let (converter, out) = converted[index] {
                // The converted cue keeps the source packet's times, so it is timed as a copy is.
                if let cue = try converter.convert(pending) {
                    av_packet_rescale_ts(cue, inTB, out.pointee.time_base)
                    cue.pointee.stream_index = out.pointee.index
                    try check(av_interleaved_write_frame(oc, cue), "write converted subtitle")
                }
                av_packet_unref(pending)
            } else {
                let out = copied[index]!
                av_packet_rescale_ts(pending, inTB, out.pointee.time_base)
                pending.pointee.stream_index = out.pointee.index
                pending.pointee.pos = -1
                try check(av_interleaved_write_frame(oc, pending), "write copied packet")
            }
            pendingValid = false
            try readSource()
        }
    }

    private func writeStretched(_ packet: UnsafeMutablePointer<AVPacket>, from stretcher: AudioStretcher,
                                to out: UnsafeMutablePointer<AVStream>) throws {
        av_packet_rescale_ts(packet, stretcher.timeBase, out.pointee.time_base)
        packet.pointee.stream_index = out.pointee.index
        try check(av_interleaved_write_frame(oc, packet), "write stretched audio packet")
    }

    /// Appends one segment's packets (in order) to the video stream.
    public func append(_ segment: EncodedSegment) throws {
        let h = segment.header
        guard h.extradata == first.extradata, h.codec == first.codec, h.width == first.width, h.height == first.height,
              h.timeBase == first.timeBase else {
            throw MediaError.invalidData("segment encoded with different parameters; cannot join without re-encoding")
        }
        guard let packet else { return }
        var offset = 0
        for (i, info) in h.packets.enumerated() {
            try writeSource(before: info.dts, h.timeBase.av)
            try check(av_new_packet(packet, Int32(info.size)), "allocate packet")
            segment.payload.withUnsafeBufferPointer { src in
                packet.pointee.data.update(from: src.baseAddress! + offset, count: info.size)
            }
            packet.pointee.pts = info.pts
            packet.pointee.dts = info.dts
            packet.pointee.duration = info.duration
            packet.pointee.flags = info.key ? AV_PKT_FLAG_KEY : 0
            packet.pointee.stream_index = video.pointee.index
            av_packet_rescale_ts(packet, h.timeBase.av, video.pointee.time_base)
            // Segments encoded apart can meet with equal decode times at the seam; keep dts strictly rising.
            if packet.pointee.dts <= lastDts { packet.pointee.dts = lastDts + 1 }
            guard packet.pointee.dts <= packet.pointee.pts else {
                av_packet_unref(packet)
                throw MediaError.invalidData("packet \(i): decode time after presentation time at a segment seam")
            }
            lastDts = packet.pointee.dts
            try check(av_interleaved_write_frame(oc, packet), "write video packet")
            offset += info.size
            report.videoFrames += 1
        }
    }

    /// Writes the remaining copied packets and the trailer, then moves the file into place — unless
    /// it holds other than `expectedVideoFrames` video frames: a wrong file never takes the output's name.
    public func finish(expectedVideoFrames: Int? = nil) throws -> Report {
        try writeSource(before: nil, video.pointee.time_base)
        for index in stretched.keys.sorted() {
            let (stretcher, out) = stretched[index]!
            try stretcher.finish { try writeStretched($0, from: stretcher, to: out) }
        }
        try check(av_write_trailer(oc), "write trailer")
        avio_closep(&oc.pointee.pb)
        if let expectedVideoFrames, report.videoFrames != expectedVideoFrames {
            throw MediaError.invalidData("wrote \(report.videoFrames) video frames, expected \(expectedVideoFrames)")
        }
        guard rename(partPath, outputPath) == 0 else {
            throw MediaError.invalidData("cannot move \(partPath) to \(outputPath) (errno \(errno))")
        }
        finished = true
        return report
    }

    private static func fourcc(_ s: String) -> UInt32 {
        let b = Array(s.utf8)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
}
