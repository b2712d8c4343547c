import CZstd

/// zstd compression of frame buffers for the store. Level 1 keeps the pipeline CPU-bound on models,
/// not on compression, while cutting SD/HD frames to roughly a third.
public enum FrameCompression {
    public static func compress(_ bytes: [UInt8], level: Int32 = 1) throws -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, level)
            }
        }
        if ZSTD_isError(written) != 0 { throw MediaError.compression(String(cString: ZSTD_getErrorName(written))) }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses, checking the frame's recorded size against `expectedSize` so truncated or
    /// foreign data is caught before it reaches a model.
    public static func decompress(_ bytes: [UInt8], expectedSize: Int) throws -> [UInt8] {
        let declared = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard reframe_zstd_size_known(declared) != 0, declared == UInt64(expectedSize) else {
            throw MediaError.compression("frame data declares \(declared) bytes, expected \(expectedSize)")
        }
        var out = [UInt8](repeating: 0, count: expectedSize)
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in ZSTD_decompress(dst.baseAddress, expectedSize, src.baseAddress, src.count) }
        }
        if ZSTD_isError(n) != 0 { throw MediaError.compression(String(cString: ZSTD_getErrorName(n))) }
        guard n == expectedSize else { throw MediaError.compression("decompressed \(n) bytes, expected \(expectedSize)") }
        return out
    }
}
