import CFFmpeg
import Core

/// An opened media file (libavformat demuxer). Internal: callers use `MediaProbe` and `SegmentDecoder`.
final class InputFile {
    let context: UnsafeMutablePointer<AVFormatContext>
    let path: String

    init(path: String) throws {
        _ = LibavRuntime.configured
        self.path = path
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_open_input(&ctx, path, nil, nil), "open \(path)")
        guard let opened = ctx else { throw MediaError.invalidData("open \(path)") }
        // Closed here, before `context` is set: once every property is set, a throwing init runs
        // deinit, which would close it a second time.
        let status = avformat_find_stream_info(opened, nil)
        guard status >= 0 else {
            avformat_close_input(&ctx)
            try check(status, "read stream info of \(path)")
            throw MediaError.invalidData("read stream info of \(path)")
        }
        context = opened
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    func stream(_ index: Int32) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[Int(index)]! }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func videoStreamIndex() throws -> Int32 {
        let index = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0 else { throw MediaError.unsupported("\(path) has no video stream") }
        return index
    }

    /// Reads the file from the current position to its end, handing over each packet of `streamIndex`
    /// (valid during the call only).
    func forEachPacket(of streamIndex: Int32, _ body: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        guard let packet = av_packet_alloc() else { throw MediaError.libav("allocate packet", code: reframe_averror_enomem()) }
        var pkt: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&pkt) }
        while true {
            let status = av_read_frame(context, packet)
            if status == averrorEOF { return }
            try check(status, "read \(path)")
            defer { av_packet_unref(packet) }
            if packet.pointee.stream_index == streamIndex { try body(packet) }
        }
    }

    func streams(of type: AVMediaType) -> [Int32] {
        (0..<Int32(streamCount)).filter { stream($0).pointee.codecpar.pointee.codec_type == type }
    }
}

extension AVRational {
    var rational: Rational? { den == 0 || num == 0 ? nil : Rational(Int64(num), Int64(den)) }
}

extension Rational {
    var av: AVRational { AVRational(num: Int32(clamping: num), den: Int32(clamping: den)) }
}
