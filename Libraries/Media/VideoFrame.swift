import CFFmpeg

/// A decoded picture owned by Swift: tightly packed planes (no row padding) in one buffer.
public struct VideoFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// libav pixel format name, e.g. "yuv420p".
    public var pixelFormat: String
    public var data: [UInt8]
    /// Presentation time in the owning chunk's time base.
    public var pts: Int64

    public init(width: Int, height: Int, pixelFormat: String, data: [UInt8], pts: Int64) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.data = data
        self.pts = pts
    }

    /// A zeroed frame of the right size.
    public init(width: Int, height: Int, pixelFormat: String, pts: Int64 = 0) throws {
        let layout = try PlaneLayout(width: width, height: height, pixelFormat: pixelFormat)
        self.init(width: width, height: height, pixelFormat: pixelFormat, data: [UInt8](repeating: 0, count: layout.byteCount), pts: pts)
    }

    public func layout() throws -> PlaneLayout { try PlaneLayout(width: width, height: height, pixelFormat: pixelFormat) }
}

/// Where each plane of a tightly packed frame lies.
public struct PlaneLayout: Sendable, Equatable {
    public struct Plane: Sendable, Equatable {
        public var offset: Int
        public var bytesPerRow: Int
        public var rows: Int
    }

    public var planes: [Plane]
    public var byteCount: Int

    public init(width: Int, height: Int, pixelFormat: String) throws {
        let format = try PixelFormat.lookup(pixelFormat)
        var linesizes: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        _ = try withUnsafeMutablePointer(to: &linesizes) { p in
            try p.withMemoryRebound(to: Int32.self, capacity: 4) { ls in
                try check(av_image_fill_linesizes(ls, format, Int32(width)), "plane sizes for \(pixelFormat) \(width)×\(height)")
            }
        }
        let sizes = [linesizes.0, linesizes.1, linesizes.2, linesizes.3].map(Int.init)
        guard let desc = av_pix_fmt_desc_get(format) else { throw MediaError.unsupported("pixel format \(pixelFormat)") }
        var planes: [Plane] = []
        var offset = 0
        for (i, size) in sizes.enumerated() where size > 0 {
            let chroma = (i == 1 || i == 2)
            let rows = chroma ? -((-height) >> Int(desc.pointee.log2_chroma_h)) : height
            planes.append(Plane(offset: offset, bytesPerRow: size, rows: rows))
            offset += size * rows
        }
        self.planes = planes
        byteCount = offset
    }
}

/// Pixel-format names ↔ libav identifiers; the only place that knows AVPixelFormat.
enum PixelFormat {
    static func lookup(_ name: String) throws -> AVPixelFormat {
        let format = av_get_pix_fmt(name)
        guard format != AV_PIX_FMT_NONE else { throw MediaError.unsupported("pixel format '\(name)'") }
        return format
    }

    static func name(_ format: AVPixelFormat) -> String {
        av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "unknown"
    }

    /// Copies an AVFrame's planes into a packed Swift buffer.
    static func copy(_ frame: UnsafePointer<AVFrame>) throws -> [UInt8] {
        let format = AVPixelFormat(rawValue: frame.pointee.format)
        let size = try check(av_image_get_buffer_size(format, frame.pointee.width, frame.pointee.height, 1), "frame size")
        var out = [UInt8](repeating: 0, count: Int(size))
        try withFramePlanes(frame) { data, linesizes in
            _ = try out.withUnsafeMutableBufferPointer { dst in
                try check(av_image_copy_to_buffer(dst.baseAddress, size, data, linesizes, format, frame.pointee.width,
                                                  frame.pointee.height, 1), "copy frame")
            }
        }
        return out
    }

    static func withFramePlanes<R>(_ frame: UnsafePointer<AVFrame>,
                                   _ body: (UnsafePointer<UnsafePointer<UInt8>?>, UnsafePointer<Int32>) throws -> R) rethrows -> R {
        var data = frame.pointee.data
        var linesize = frame.pointee.linesize
        return try withUnsafePointer(to: &data) { dp in
            try dp.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { d in
                try withUnsafePointer(to: &linesize) { lp in
                    try lp.withMemoryRebound(to: Int32.self, capacity: 8) { l in try body(d, l) }
                }
            }
        }
    }

    /// Points an AVFrame's planes at a packed Swift buffer (no copy); valid while `buffer` is.
    static func fill(_ frame: UnsafeMutablePointer<AVFrame>, from buffer: UnsafePointer<UInt8>, width: Int, height: Int,
                     format: AVPixelFormat) throws {
        var data: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?) = (nil, nil, nil, nil)
        var lines: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        _ = try withUnsafeMutablePointer(to: &data) { dp in
            try dp.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 4) { d in
                try withUnsafeMutablePointer(to: &lines) { lp in
                    try lp.withMemoryRebound(to: Int32.self, capacity: 4) { l in
                        try check(av_image_fill_arrays(d, l, buffer, format, Int32(width), Int32(height), 1), "fill frame")
                    }
                }
            }
        }
        frame.pointee.data.0 = data.0
        frame.pointee.data.1 = data.1
        frame.pointee.data.2 = data.2
        frame.pointee.data.3 = data.3
        frame.pointee.linesize.0 = lines.0
        frame.pointee.linesize.1 = lines.1
        frame.pointee.linesize.2 = lines.2
        frame.pointee.linesize.3 = lines.3
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.format = format.rawValue
    }
}
