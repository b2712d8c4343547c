import CFFmpeg

/// Resizes and/or converts frames with libswscale. One instance per geometry; reuse it across frames.
public final class FrameScaler: @unchecked Sendable {
    public enum Filter: Sendable { case lanczos, bicubic, bilinear, point }

    public let source: (width: Int, height: Int, pixelFormat: String)
    public let target: (width: Int, height: Int, pixelFormat: String)
    private let context: OpaquePointer
    private let srcFormat: AVPixelFormat
    private let dstFormat: AVPixelFormat
    private let dstLayout: PlaneLayout

    public init(from source: (width: Int, height: Int, pixelFormat: String), to target: (width: Int, height: Int, pixelFormat: String),
                filter: Filter = .lanczos) throws {
        self.source = source
        self.target = target
        srcFormat = try PixelFormat.lookup(source.pixelFormat)
        dstFormat = try PixelFormat.lookup(target.pixelFormat)
        dstLayout = try PlaneLayout(width: target.width, height: target.height, pixelFormat: target.pixelFormat)
        let flags: Int32
        switch filter {
        case .lanczos: flags = SWS_LANCZOS
        case .bicubic: flags = SWS_BICUBIC
        case .bilinear: flags = SWS_BILINEAR
        case .point: flags = SWS_POINT
        }
        guard let ctx = sws_getContext(Int32(source.width), Int32(source.height), srcFormat, Int32(target.width), Int32(target.height),
                                       dstFormat, flags | Self.extraFlags(srcFormat, dstFormat), nil, nil, nil)
        else {
            throw MediaError.unsupported("scaling \(source.width)×\(source.height) \(source.pixelFormat) → \(target.width)×\(target.height) \(target.pixelFormat)")
        }
        context = ctx
    }

    deinit { sws_freeContext(context) }

    /// Full-resolution chroma and accurate rounding only matter when converting between YUV and RGB;
    /// same-family resizing uses the plain filter, as `ffmpeg -vf scale=…:flags=lanczos` does.
    private static func extraFlags(_ a: AVPixelFormat, _ b: AVPixelFormat) -> Int32 {
        func isRGB(_ f: AVPixelFormat) -> Bool { (av_pix_fmt_desc_get(f)?.pointee.flags ?? 0) & UInt64(AV_PIX_FMT_FLAG_RGB) != 0 }
        return isRGB(a) != isRGB(b) ? SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP : 0
    }

    public func scale(_ frame: VideoFrame) throws -> VideoFrame {
        guard frame.width == source.width, frame.height == source.height, frame.pixelFormat == source.pixelFormat else {
            throw MediaError.invalidData("scaler built for \(source.width)×\(source.height) \(source.pixelFormat), got \(frame.width)×\(frame.height) \(frame.pixelFormat)")
        }
        var out = [UInt8](repeating: 0, count: dstLayout.byteCount)
        let srcLayout = try frame.layout()
        try frame.data.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                var srcPlanes = [UnsafePointer<UInt8>?](repeating: nil, count: 4)
                var srcStrides = [Int32](repeating: 0, count: 4)
                for (i, p) in srcLayout.planes.enumerated() {
                    srcPlanes[i] = src.baseAddress! + p.offset
                    srcStrides[i] = Int32(p.bytesPerRow)
                }
                var dstPlanes = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: 4)
                var dstStrides = [Int32](repeating: 0, count: 4)
                for (i, p) in dstLayout.planes.enumerated() {
                    dstPlanes[i] = dst.baseAddress! + p.offset
                    dstStrides[i] = Int32(p.bytesPerRow)
                }
                let rows = sws_scale(context, srcPlanes, srcStrides, 0, Int32(source.height), dstPlanes, dstStrides)
                try check(rows, "sws_scale")
            }
        }
        return VideoFrame(width: target.width, height: target.height, pixelFormat: target.pixelFormat, data: out, pts: frame.pts)
    }
}
