import CFFmpeg
import Foundation

/// Writes a Matroska file holding one DVD (bitmap) subtitle stream, encoded with libav's `dvdsub`
/// encoder: the ffmpeg command line cannot turn text into bitmaps, so tests make their own.
enum DVDSubtitleClip {
    struct Cue {
        var startMilliseconds: Int64
        var durationMilliseconds: UInt32
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// - Parameters:
    ///   - width, height: the canvas (the video's size); each cue is a small striped box inside it.
    static func write(path: String, width: Int32, height: Int32, language: String, cues: [Cue]) throws {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_DVD_SUBTITLE) else { throw Failure(description: "no dvdsub encoder") }
        var encoder = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&encoder) }
        guard let ctx = encoder else { throw Failure(description: "allocate dvdsub encoder") }
        ctx.pointee.width = width
        ctx.pointee.height = height
        ctx.pointee.time_base = AVRational(num: 1, den: 1000)
        try check(avcodec_open2(ctx, codec, nil), "open dvdsub encoder")

        var output: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&output, nil, "matroska", path), "matroska muxer")
        guard let oc = output else { throw Failure(description: "matroska muxer") }
        defer {
            if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
        }
        guard let stream = avformat_new_stream(oc, nil) else { throw Failure(description: "add stream") }
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, ctx), "stream parameters")
        stream.pointee.time_base = AVRational(num: 1, den: 1000)
        av_dict_set(&stream.pointee.metadata, "language", language, 0)
        try check(avio_open(&oc.pointee.pb, path, AVIO_FLAG_WRITE), "open \(path)")
        try check(avformat_write_header(oc, nil), "write header")

        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let packet else { throw Failure(description: "allocate packet") }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for (n, cue) in cues.enumerated() {
            var subtitle = try bitmap(width: 32, height: 8, stripe: n + 1, x: 4, y: height - 12)
            defer { avsubtitle_free(&subtitle) }
            subtitle.end_display_time = cue.durationMilliseconds
            let size = try check(buffer.withUnsafeMutableBufferPointer { avcodec_encode_subtitle(ctx, $0.baseAddress, Int32($0.count), &subtitle) },
                                 "encode cue \(n)")
            try check(av_new_packet(packet, size), "packet")
            buffer.withUnsafeBufferPointer { packet.pointee.data.update(from: $0.baseAddress!, count: Int(size)) }
            packet.pointee.pts = av_rescale_q(cue.startMilliseconds, AVRational(num: 1, den: 1000), stream.pointee.time_base)
            packet.pointee.dts = packet.pointee.pts
            packet.pointee.duration = av_rescale_q(Int64(cue.durationMilliseconds), AVRational(num: 1, den: 1000), stream.pointee.time_base)
            packet.pointee.flags = AV_PKT_FLAG_KEY
            packet.pointee.stream_index = stream.pointee.index
            try check(av_interleaved_write_frame(oc, packet), "write cue \(n)")
        }
        try check(av_write_trailer(oc), "write trailer")
    }

    /// One bitmap rect with four colours: horizontal stripes `stripe` pixels apart, so every cue differs.
    private static func bitmap(width: Int32, height: Int32, stripe: Int, x: Int32, y: Int32) throws -> AVSubtitle {
        var subtitle = AVSubtitle()
        guard let rects = av_mallocz(MemoryLayout<UnsafeMutablePointer<AVSubtitleRect>?>.stride)?
                .assumingMemoryBound(to: UnsafeMutablePointer<AVSubtitleRect>?.self),
              let rect = av_mallocz(MemoryLayout<AVSubtitleRect>.stride)?.assumingMemoryBound(to: AVSubtitleRect.self),
              let pixels = av_mallocz(Int(width * height))?.assumingMemoryBound(to: UInt8.self),
              let palette = av_mallocz(4 * 4)?.assumingMemoryBound(to: UInt32.self) else { throw Failure(description: "allocate bitmap") }
        rects[0] = rect
        subtitle.rects = rects
        subtitle.num_rects = 1
        for row in 0..<Int(height) {
            for col in 0..<Int(width) { pixels[row * Int(width) + col] = UInt8((row / stripe + col / 8) % 3 + 1) }
        }
        // ARGB: transparent, then opaque white, black and grey.
        for (i, colour) in [UInt32(0x0000_0000), 0xFFFF_FFFF, 0xFF00_0000, 0xFF80_8080].enumerated() { palette[i] = colour }
        rect.pointee.type = SUBTITLE_BITMAP
        rect.pointee.x = x
        rect.pointee.y = y
        rect.pointee.w = width
        rect.pointee.h = height
        rect.pointee.nb_colors = 4
        rect.pointee.data.0 = pixels
        rect.pointee.data.1 = UnsafeMutableRawPointer(palette).assumingMemoryBound(to: UInt8.self)
        rect.pointee.linesize.0 = width
        rect.pointee.linesize.1 = 4 * 4
        return subtitle
    }

    @discardableResult
    private static func check(_ code: Int32, _ what: String) throws -> Int32 {
        guard code >= 0 else { throw Failure(description: "\(what): libav error \(code)") }
        return code
    }
}
