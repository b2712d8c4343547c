/// The neural models' pixel exchange: packed rgb24 bytes ↔ planar RGB floats in 0…1 (3×H×W),
/// rounded and clamped on the way back as the reference applications do.
enum PlanarRGB {
    /// `src`: `pixels` rgb24 pixels; `dst`: 3·pixels floats.
    static func unpack(_ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<Float>, pixels: Int) {
        for i in 0..<pixels {
            dst[i] = Float(src[3 * i]) / 255
            dst[pixels + i] = Float(src[3 * i + 1]) / 255
            dst[2 * pixels + i] = Float(src[3 * i + 2]) / 255
        }
    }

    static func pack(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<UInt8>, pixels: Int) {
        for i in 0..<pixels {
            dst[3 * i] = byte(src[i])
            dst[3 * i + 1] = byte(src[pixels + i])
            dst[3 * i + 2] = byte(src[2 * pixels + i])
        }
    }

    @inline(__always)
    static func byte(_ v: Float) -> UInt8 {
        let x = v * 255 + 0.5
        return x <= 0 ? 0 : (x >= 255 ? 255 : UInt8(x))
    }
}
