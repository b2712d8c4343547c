import CFFmpeg
import Core

/// What a source file holds, learned from its headers and packet index (no decoding).
public struct ProbeResult: Sendable, Equatable {
    public var video: VideoInfo
    public var index: PacketIndex
    public var codecName: String
    public var sampleAspectRatio: Rational
    public var audioStreams: Int
    public var subtitleStreams: Int
    public var formatName: String
}

public enum MediaProbe {
    /// A codec tag as its four characters (non-printable ones as '?').
    static func fourCC(_ tag: UInt32) -> String {
        String((0..<4).map { i -> Character in
            let byte = UInt8((tag >> (8 * UInt32(i))) & 0xff)
            return (32...126).contains(byte) ? Character(UnicodeScalar(byte)) : "?"
        })
    }

    /// Opens `path`, reads every video packet's timestamps and flags, and summarises the stream.
    public static func probe(path: String) throws -> ProbeResult {
        let input: InputFile
        do { input = try InputFile(path: path) } catch MediaError.libav(_, let code) where code == averrorInvalidData {
            throw MediaError.unusableSource("\(path) is not a media file FFmpeg can read (damaged, cut short at its start, or not audio/video at all)")
        }
        let videoIndex: Int32
        do { videoIndex = try input.videoStreamIndex() } catch {
            throw MediaError.unusableSource("\(path) has no video stream (an audio-only file, or one whose header is damaged); give a video file")
        }
        let stream = input.stream(videoIndex)
        let par = stream.pointee.codecpar.pointee
        let format = input.context.pointee.iformat.pointee.name.map { String(cString: $0) } ?? "unknown"
        let codecName = avcodec_get_name(par.codec_id).map { String(cString: $0) } ?? "unknown"
        if format == "image2" || format.hasSuffix("_pipe") || stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0 {
            throw MediaError.unusableSource("\(path) is a still image (\(codecName)), not a video; Reframe enhances videos")
        }
        guard avcodec_find_decoder(par.codec_id) != nil else {
            let tag = par.codec_tag == 0 ? "" : ", FourCC '\(Self.fourCC(par.codec_tag))'"
            throw MediaError.unusableSource("\(path): this FFmpeg build has no decoder for its video codec (\(codecName)\(tag)); convert it to a common codec first")
        }
        guard par.width > 0, par.height > 0 else { throw MediaError.invalidData("\(path): video stream has no size") }
        guard let timeBase = stream.pointee.time_base.rational else { throw MediaError.invalidData("\(path): video stream has no time base") }

        var framePts: [Int64] = []
        var keyframes: [(pts: Int64, dts: Int64)] = []
        var endPts = Int64.min
        var lastDuration: Int64 = 0
        var withoutPts = 0
        // Every packet the demuxer returned, those an edit list discards too (the header counts them).
        var packets: Int64 = 0
        try input.forEachPacket(of: videoIndex) { packet in
            packets += 1
            if packet.pointee.flags & AV_PKT_FLAG_DISCARD != 0 { return }
            if packet.pointee.pts == noPTS { withoutPts += 1 }
            let pts = packet.pointee.pts != noPTS ? packet.pointee.pts : packet.pointee.dts
            guard pts != noPTS else { return }
            let dts = packet.pointee.dts != noPTS ? packet.pointee.dts : pts
            framePts.append(pts)
            if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 { keyframes.append((pts, dts)) }
            lastDuration = packet.pointee.duration
            endPts = max(endPts, pts + max(packet.pointee.duration, 0))
        }
        guard !framePts.isEmpty else { throw MediaError.unusableSource("\(path) has a video stream without any frames") }
        // The header's frame count is a promise the packets must keep: fewer means the file was cut short.
        if stream.pointee.nb_frames > packets {
            throw MediaError.unusableSource("\(path) is truncated: its header lists \(stream.pointee.nb_frames) video frames but only \(packets) are in the file; copy it again or repair it")
        }
        if withoutPts > 0 {
            // Packets without their own pts (MPEG program streams, AVI): a decode order timestamp is
            // not the frame's presentation time, so the index comes from the decoder instead.
            (framePts, keyframes) = ([], [])
            try SegmentDecoder(path: path, workingPixelFormat: "gray").scanTimestamps { pts, isKey, dts in
                framePts.append(pts)
                if isKey { keyframes.append((pts, dts)) }
            }
            guard !framePts.isEmpty else { throw MediaError.invalidData("\(path): no decodable video frames") }
            endPts = framePts.max()!
            lastDuration = 0
        }
        framePts.sort()
        var frameRate = stream.pointee.avg_frame_rate.rational ?? stream.pointee.r_frame_rate.rational
        if frameRate == nil, framePts.count > 1 {
            let seconds = Double(framePts.last! - framePts.first!) * timeBase.double
            frameRate = Rational.approximating(Double(framePts.count - 1) / seconds)
        }
        let rate = frameRate ?? Rational(25, 1)
        // The stream's own duration covers the last frame's display time, which demuxers often report
        // wrongly per packet (MP4 with edit lists); else the last frame lasts one average interval.
        let streamDuration = stream.pointee.duration
        let start = stream.pointee.start_time != noPTS ? stream.pointee.start_time : framePts.first!
        if streamDuration != noPTS, streamDuration > 0, start + streamDuration > framePts.last! {
            endPts = max(endPts, start + streamDuration)
        } else if lastDuration <= 0 || endPts <= framePts.last! {
            endPts = max(endPts, framePts.last! + max(1, rescale(1, from: rate.inverse, to: timeBase)))
        }
        let video = VideoInfo(
            width: Int(par.width), height: Int(par.height),
            pixelFormat: PixelFormat.name(AVPixelFormat(rawValue: par.format)), timeBase: timeBase, frameRate: rate,
            frameCount: framePts.count, startPts: framePts.first!, endPts: endPts,
            hasAudio: !input.streams(of: AVMEDIA_TYPE_AUDIO).isEmpty,
            sampleAspectRatio: par.sample_aspect_ratio.rational ?? Rational(1, 1), fieldOrder: Self.fieldOrder(par.field_order))
        let codec = codecName
        let sar = par.sample_aspect_ratio.rational ?? Rational(1, 1)
        return ProbeResult(
            video: video, index: PacketIndex(framePts: framePts, keyframes: keyframes, endPts: endPts), codecName: codec,
            sampleAspectRatio: sar, audioStreams: input.streams(of: AVMEDIA_TYPE_AUDIO).count,
            subtitleStreams: input.streams(of: AVMEDIA_TYPE_SUBTITLE).count,
            formatName: format)
    }

    /// The stream's field order as libav reports it (from the codec headers, e.g. MPEG-2's
    /// progressive_sequence and top_field_first, or the container's flags).
    static func fieldOrder(_ order: AVFieldOrder) -> FieldOrder {
        switch order {
        case AV_FIELD_PROGRESSIVE: return .progressive
        case AV_FIELD_TT, AV_FIELD_TB: return .topFieldFirst
        case AV_FIELD_BB, AV_FIELD_BT: return .bottomFieldFirst
        default: return .unknown
        }
    }
}
