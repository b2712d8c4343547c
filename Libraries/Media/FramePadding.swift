import CFFmpeg
import Core

/// Odd sizes in, legal sizes out: 4:2:0 and 4:2:2 encoders need widths (and for 4:2:0 heights)
/// divisible by their chroma subsampling. Frames are padded on the right and bottom by repeating
/// the edge pixels — the whole picture is kept, nothing is scaled — and the sample aspect ratio is
/// adjusted so the display aspect stays the source's.
public enum FramePadding {
    /// The smallest size ≥ width × height that `pixelFormat` can encode.
    public static func codedSize(width: Int, height: Int, pixelFormat: String) throws -> (width: Int, height: Int) {
        guard let desc = av_pix_fmt_desc_get(try PixelFormat.lookup(pixelFormat)) else {
            throw MediaError.unsupported("pixel format \(pixelFormat)")
        }
        let (aw, ah) = (1 << Int(desc.pointee.log2_chroma_w), 1 << Int(desc.pointee.log2_chroma_h))
        return ((width + aw - 1) / aw * aw, (height + ah - 1) / ah * ah)
    }

    /// The sample aspect ratio that shows `coded` at the display aspect `picture` had with `sar`.
    public static func sampleAspectRatio(_ sar: Rational, picture: (width: Int, height: Int), coded: (width: Int, height: Int)) -> Rational {
        if picture == coded { return sar }
        return sar * Rational(Int64(picture.width * coded.height), Int64(picture.height * coded.width))
    }

    /// `frame` enlarged to width × height by repeating its last column and row, plane by plane.
    public static func pad(_ frame: VideoFrame, width: Int, height: Int) throws -> VideoFrame {
        if frame.width == width && frame.height == height { return frame }
        guard width >= frame.width, height >= frame.height else {
            throw MediaError.invalidData("cannot pad \(frame.width)×\(frame.height) to a smaller \(width)×\(height)")
        }
        let from = try frame.layout()
        var out = try VideoFrame(width: width, height: height, pixelFormat: frame.pixelFormat, pts: frame.pts)
        let to = try out.layout()
        guard from.planes.count == to.planes.count, let desc = av_pix_fmt_desc_get(try PixelFormat.lookup(frame.pixelFormat)) else {
            throw MediaError.unsupported("padding \(frame.pixelFormat)")
        }
        out.data.withUnsafeMutableBufferPointer { dst in
            frame.data.withUnsafeBufferPointer { src in
                for (p, (s, d)) in zip(from.planes, to.planes).enumerated() {
                    let chroma = p == 1 || p == 2
                    let planeWidth = chroma ? -((-frame.width) >> Int(desc.pointee.log2_chroma_w)) : frame.width
                    let step = s.bytesPerRow / max(1, planeWidth)  // bytes per pixel of this plane
                    for row in 0..<d.rows {
                        let source = s.offset + min(row, s.rows - 1) * s.bytesPerRow, target = d.offset + row * d.bytesPerRow
                        for i in 0..<s.bytesPerRow { dst[target + i] = src[source + i] }
                        for i in s.bytesPerRow..<d.bytesPerRow { dst[target + i] = dst[target + s.bytesPerRow - step + (i - s.bytesPerRow) % step] }
                    }
                }
            }
        }
        return out
    }
}
