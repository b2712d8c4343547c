import CFFmpeg
import Foundation

/// Still images in and out (the image modes of `reframe frames`): any format libavformat reads
/// (PNG, JPEG, PPM, …) decodes to rgb24; output is PNG through libavcodec's encoder, whose one
/// packet is the whole file.
public enum ImageFile {
    public static func read(_ path: String) throws -> VideoFrame {
        guard FileManager.default.isReadableFile(atPath: path) else { throw MediaError.invalidData("cannot read image '\(path)'") }
        var first: VideoFrame?
        try SegmentDecoder(path: path, workingPixelFormat: "rgb24").decodeAll { frame in
            if first == nil { first = frame }
        }
        guard var frame = first else { throw MediaError.invalidData("'\(path)' holds no picture") }
        frame.pts = 0
        return frame
    }

    /// Writes `frame` (any pixel format; converted to rgb24) as a PNG file, atomically.
    public static func writePNG(_ frame: VideoFrame, to path: String) throws {
        _ = LibavRuntime.configured
        let rgb = frame.pixelFormat == "rgb24" ? frame
            : try FrameScaler(from: (frame.width, frame.height, frame.pixelFormat), to: (frame.width, frame.height, "rgb24"), filter: .bicubic)
                .scale(frame)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else { throw MediaError.unsupported("this FFmpeg build has no PNG encoder") }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.libav("allocate encoder", code: reframe_averror_enomem()) }
        var ctxOpt: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { avcodec_free_context(&ctxOpt) }
        ctx.pointee.width = Int32(rgb.width)
        ctx.pointee.height = Int32(rgb.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_RGB24
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        try check(avcodec_open2(ctx, codec, nil), "open PNG encoder")
        guard let avFrame = av_frame_alloc(), let packet = av_packet_alloc() else { throw MediaError.libav("allocate", code: reframe_averror_enomem()) }
        var frm: UnsafeMutablePointer<AVFrame>? = avFrame
        var pkt: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_frame_free(&frm); av_packet_free(&pkt) }
        try rgb.data.withUnsafeBufferPointer { buffer in
            try PixelFormat.fill(avFrame, from: buffer.baseAddress!, width: rgb.width, height: rgb.height, format: AV_PIX_FMT_RGB24)
            avFrame.pointee.pts = 0
            try check(avcodec_send_frame(ctx, avFrame), "encode PNG")
        }
        try check(avcodec_send_frame(ctx, nil), "flush PNG encoder")
        try check(avcodec_receive_packet(ctx, packet), "encode PNG")
        defer { av_packet_unref(packet) }
        let bytes = Data(bytes: packet.pointee.data, count: Int(packet.pointee.size))
        try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
