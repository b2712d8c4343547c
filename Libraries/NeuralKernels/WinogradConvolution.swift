import CMemoryHints
import Dispatch

/// A 3×3, stride-1 convolution by Winograd F(6,3) on tensors in oneDNN's nChw16c layout, with bias
/// and a (leaky / parametric) ReLU fused into the output transform.
///
/// oneDNN 2.6 offers only F(4,3) (`jit_wino_4x3`), and on one thread its speed swings with the
/// tile count (a 64→64 layer at 640×360: 43 ms; at 640×364: 37 ms). Here tiles are processed in
/// blocks sized so that a block's transformed input and products stay in L2: input transform →
/// 64 small GEMMs (`multiply6x64`) → output transform, per block, per thread.
///
/// This module is compiled for AVX-512 (see Package.swift): callers must first check that the CPU
/// has it (Neural asks oneDNN, `ComputeEngine.hasAVX512`).
public final class WinogradConvolution: @unchecked Sendable {
    public enum Activation: Sendable, Equatable {
        case none
        /// max(x, 0) + slope·min(x, 0); slope 0 is a plain ReLU.
        case leakyReLU(slope: Float)
        /// One slope per output channel.
        case prelu(slopes: [Float])
    }

    public let inChannels: Int
    public let outChannels: Int
    /// Tiles per block: a multiple of 6 (the GEMM's row count).
    public let tilesPerBlock: Int
    /// Groups of 64 output channels the GEMM computes; the last may be partly padding.
    private var groups: Int { (outChannels + 63) / 64 }
    /// [64 positions][groups][inChannels][64]: one packed GEMM operand per position, zero past outChannels.
    private let weights: UnsafeMutableRawPointer
    private let bias: UnsafeMutableRawPointer
    private let slopes: UnsafeMutableRawPointer?

    /// Channel counts must be whole 16-channel blocks (callers zero-pad, as nChw16c tensors are).
    /// Output channels past a multiple of 64 ride in a zero-padded last GEMM group: 96 channels
    /// cost the GEMM work of 128, the transforms only their own.
    public static func supports(inChannels: Int, outChannels: Int) -> Bool {
        inChannels > 0 && inChannels % 16 == 0 && outChannels > 0 && outChannels % 16 == 0
    }

    /// `weights` are [outChannels][inChannels][3][3], as in ncnn and oneDNN's plain layout.
    public init(weights: [Float], bias: [Float]?, inChannels: Int, outChannels: Int, activation: Activation) {
        precondition(Self.supports(inChannels: inChannels, outChannels: outChannels), "unsupported channel counts")
        precondition(weights.count == outChannels * inChannels * 9, "weights do not match \(outChannels)×\(inChannels)×3×3")
        precondition(bias.map { $0.count == outChannels } ?? true, "bias does not match \(outChannels) channels")
        self.inChannels = inChannels
        self.outChannels = outChannels
        // Transformed input plus one group's products fill most of a 1 MiB L2.
        let floatsPerTile = 64 * (inChannels + 64)
        tilesPerBlock = max(6, (196_608 / floatsPerTile) / 6 * 6)

        let groups = (outChannels + 63) / 64
        let count = 64 * groups * 64 * inChannels
        self.weights = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        let packed = self.weights.bindMemory(to: Float.self, capacity: count)
        packed.initialize(repeating: 0, count: count)
        weights.withUnsafeBufferPointer { w in
            for o in 0..<outChannels {
                for c in 0..<inChannels {
                    let u = WinogradF63.kernel(w.baseAddress! + (o * inChannels + c) * 9)
                    for p in 0..<64 { packed[((p * groups + o / 64) * inChannels + c) * 64 + o % 64] = Float(u[p]) }
                }
            }
        }
        self.bias = UnsafeMutableRawPointer.allocate(byteCount: outChannels * 4, alignment: 64)
        let b = self.bias.bindMemory(to: Float.self, capacity: outChannels)
        for o in 0..<outChannels { b[o] = bias?[o] ?? 0 }
        switch activation {
        case .none:
            slopes = nil
        case .leakyReLU(let slope):
            slopes = Self.floats(repeating: slope, count: outChannels)
        case .prelu(let values):
            precondition(values.count == outChannels || values.count == 1, "prelu slopes do not match \(outChannels) channels")
            let s = Self.floats(repeating: values[0], count: outChannels)
            for (o, v) in values.enumerated() { s.storeBytes(of: v, toByteOffset: o * 4, as: Float.self) }
            slopes = s
        }
    }

    deinit {
        weights.deallocate()
        bias.deallocate()
        slopes?.deallocate()
    }

    private static func floats(repeating value: Float, count: Int) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        p.bindMemory(to: Float.self, capacity: count).initialize(repeating: value, count: count)
        return p
    }

    /// Floats between positions in the transformed input and in the products. One cache line more
    /// than the data: with exactly T·channels floats (6 KiB for T = 24, 64 channels) all 64 positions
    /// of a tile fall into two L1 sets, and the transforms ran twice as long on conflict misses.
    private var inputStride: Int { tilesPerBlock * inChannels + 16 }
    private var productStride: Int { tilesPerBlock * 64 + 16 }

    /// Scratch memory `run` needs with this many threads.
    public func scratchBytes(threads: Int) -> Int {
        max(1, threads) * (64 * (inputStride + productStride) + 128 * 16) * 4
    }

    /// Output size for an input size and padding (3×3 kernel, stride 1).
    public static func outputSize(height: Int, width: Int, pad: (top: Int, left: Int, bottom: Int, right: Int)) -> (height: Int, width: Int) {
        (height + pad.top + pad.bottom - 2, width + pad.left + pad.right - 2)
    }

    /// Convolves `batch` images. `src` is nChw16c with `inChannels`, `dst` nChw16c with `outChannels`,
    /// both 64-byte aligned; padding outside the input reads as zero. `scratch` holds
    /// `scratchBytes(threads:)`, 64-byte aligned. `streaming` overrides the output-size rule for stores.
    public func run(src: UnsafeRawPointer, batch: Int = 1, height: Int, width: Int, padTop: Int, padLeft: Int,
                    dst: UnsafeMutableRawPointer, outHeight: Int, outWidth: Int, scratch: UnsafeMutableRawPointer, threads: Int,
                    streaming: Bool? = nil) {
        let tilesX = (outWidth + 5) / 6, tiles = tilesX * ((outHeight + 5) / 6)
        let blocks = (tiles + tilesPerBlock - 1) / tilesPerBlock
        let workers = max(1, min(threads, batch * blocks))
        let perWorker = scratchBytes(threads: 1)
        let geometry = Geometry(height: height, width: width, padTop: padTop, padLeft: padLeft,
                                outHeight: outHeight, outWidth: outWidth, tilesX: tilesX, tiles: tiles,
                                streaming: streaming ?? (outChannels * outHeight * outWidth * 4 >= Self.streamingThreshold))
        let body = { (worker: Int) in
            let jobs = batch * blocks
            let work = scratch + worker * perWorker
            for job in (jobs * worker / workers)..<(jobs * (worker + 1) / workers) {
                let (image, block) = (job / blocks, job % blocks)
                self.convolveBlock(src: src + image * self.inChannels * height * width * 4,
                                   dst: dst + image * self.outChannels * outHeight * outWidth * 4,
                                   geometry, firstTile: block * self.tilesPerBlock, scratch: work)
            }
            if geometry.streaming { reframe_stream_fence() }
        }
        if workers == 1 { body(0); return }
        // Workers write disjoint tiles of `dst` and their own slice of `scratch`.
        nonisolated(unsafe) let shared = body
        DispatchQueue.concurrentPerform(iterations: workers) { shared($0) }
    }

    struct Geometry {
        let height, width, padTop, padLeft, outHeight, outWidth, tilesX, tiles: Int
        let streaming: Bool
    }

    /// Outputs larger than this are written with non-temporal stores: they leave the last-level
    /// cache (32 MiB, shared) before the next layer reads them anyway, and a regular store first
    /// reads each line. A whole 128→256 layer at 646×368 went from 173 to 156 ms on one thread.
    /// Smaller outputs (tiles) stay cached for the next layer.
    public static let streamingThreshold = 16 << 20

    /// Transformed input `v` [64][tilesPerBlock][inChannels], products of one output group `m`
    /// [64][tilesPerBlock][64], then 128 vectors of transform temporaries.
    private func convolveBlock(src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, _ g: Geometry, firstTile: Int,
                               scratch: UnsafeMutableRawPointer) {
        let t = tilesPerBlock
        let count = min(t, g.tiles - firstTile)
        let v = scratch, m = scratch + 64 * inputStride * 4
        let temp = m + 64 * productStride * 4
        let rows = (count + 5) / 6 * 6
        // Channel block outermost: each block's tiles then read eight row streams left to right.
        for c in stride(from: 0, to: inChannels, by: 16) {
            for tile in 0..<count {
                let (ty, tx) = ((firstTile + tile) / g.tilesX, (firstTile + tile) % g.tilesX)
                transformInput(src, g, y0: ty * 6 - g.padTop, x0: tx * 6 - g.padLeft, channel: c, v: v + (tile * inChannels + c) * 4, temp: temp)
            }
        }
        // The GEMM runs on whole groups of six rows; rows past the last tile are zeros, never stored.
        for tile in count..<rows {
            for p in 0..<64 { (v + (p * inputStride + tile * inChannels) * 4).initializeMemory(as: Float.self, repeating: 0, count: inChannels) }
        }
        // One group of 64 output channels at a time: its products stay small enough to share L2
        // with the transformed input, and each weight panel is reused by every row group in L1.
        let (ic, vs, ms) = (inChannels, inputStride, productStride)
        let a = UnsafePointer(v.assumingMemoryBound(to: Float.self))
        for j in 0..<groups {
            for p in 0..<64 {
                let b = UnsafeRawPointer(weights + ((p * groups + j) * ic) * 256)
                for r in stride(from: 0, to: rows, by: 6) {
                    multiply6x64(a + p * vs + r * ic, lda: ic, b, m + (p * ms + r * 64) * 4, ldc: 64, k: ic)
                }
            }
            for tile in 0..<count {
                let (ty, tx) = ((firstTile + tile) / g.tilesX, (firstTile + tile) % g.tilesX)
                for o in stride(from: 0, to: min(64, outChannels - j * 64), by: 16) {
                    transformOutput(m + (tile * 64 + o) * 4, dst, g, y0: ty * 6, x0: tx * 6, channel: j * 64 + o, temp: temp)
                }
            }
        }
    }

    /// One 8×8 input tile of 16 channels → 64 transformed vectors, `tilesPerBlock·inChannels` floats apart in `v`.
    @inline(__always)
    private func transformInput(_ src: UnsafeRawPointer, _ g: Geometry, y0: Int, x0: Int, channel: Int,
                                v: UnsafeMutableRawPointer, temp: UnsafeMutableRawPointer) {
        let plane = src + channel * g.height * g.width * 4
        let interior = y0 >= 0 && x0 >= 0 && y0 + 8 <= g.height && x0 + 8 <= g.width
        for r in 0..<8 {
            let y = y0 + r
            var d = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes())
            if interior {
                let row = plane + (y * g.width + x0) * 64
                // The input usually comes from DRAM (the previous layer streamed it out); fetching
                // the six new pixels of the tile two ahead halved this transform's time.
                if x0 + 20 <= g.width {
                    let ahead = row + 14 * 64
                    reframe_prefetch(ahead); reframe_prefetch(ahead + 64); reframe_prefetch(ahead + 128)
                    reframe_prefetch(ahead + 192); reframe_prefetch(ahead + 256); reframe_prefetch(ahead + 320)
                }
                d = (row.lanes(0), row.lanes(16), row.lanes(32), row.lanes(48), row.lanes(64), row.lanes(80), row.lanes(96), row.lanes(112))
            } else if y >= 0 && y < g.height {
                let row = plane + y * g.width * 64
                @inline(__always) func at(_ i: Int) -> Lanes {
                    let x = x0 + i
                    return x >= 0 && x < g.width ? row.lanes(x * 16) : Lanes()
                }
                d = (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7))
            }
            let w = WinogradF63.input(d.0, d.1, d.2, d.3, d.4, d.5, d.6, d.7)
            // Stored transposed: column k of the row pass is contiguous for the column pass.
            temp.store(w.0, (0 * 8 + r) * 16); temp.store(w.1, (1 * 8 + r) * 16)
            temp.store(w.2, (2 * 8 + r) * 16); temp.store(w.3, (3 * 8 + r) * 16)
            temp.store(w.4, (4 * 8 + r) * 16); temp.store(w.5, (5 * 8 + r) * 16)
            temp.store(w.6, (6 * 8 + r) * 16); temp.store(w.7, (7 * 8 + r) * 16)
        }
        let step = inputStride
        for k in 0..<8 {
            let col = temp + k * 8 * 64
            let e = WinogradF63.input(col.lanes(0), col.lanes(16), col.lanes(32), col.lanes(48),
                                      col.lanes(64), col.lanes(80), col.lanes(96), col.lanes(112))
            // Position p = (vertical frequency)·8 + horizontal frequency k.
            v.store(e.0, (0 * 8 + k) * step); v.store(e.1, (1 * 8 + k) * step)
            v.store(e.2, (2 * 8 + k) * step); v.store(e.3, (3 * 8 + k) * step)
            v.store(e.4, (4 * 8 + k) * step); v.store(e.5, (5 * 8 + k) * step)
            v.store(e.6, (6 * 8 + k) * step); v.store(e.7, (7 * 8 + k) * step)
        }
    }

    /// 64 product vectors of one tile (16 output channels) → a 6×6 output patch with bias and activation.
    @inline(__always)
    private func transformOutput(_ m: UnsafeMutableRawPointer, _ dst: UnsafeMutableRawPointer, _ g: Geometry, y0: Int, x0: Int,
                                 channel: Int, temp: UnsafeMutableRawPointer) {
        let step = productStride
        for i in 0..<8 {
            let row = m + i * 8 * step * 4
            let r = WinogradF63.output(row.lanes(0), row.lanes(step), row.lanes(2 * step), row.lanes(3 * step),
                                       row.lanes(4 * step), row.lanes(5 * step), row.lanes(6 * step), row.lanes(7 * step))
            temp.store(r.0, (0 * 8 + i) * 16); temp.store(r.1, (1 * 8 + i) * 16); temp.store(r.2, (2 * 8 + i) * 16)
            temp.store(r.3, (3 * 8 + i) * 16); temp.store(r.4, (4 * 8 + i) * 16); temp.store(r.5, (5 * 8 + i) * 16)
        }
        let biasLanes = UnsafeRawPointer(bias).lanes(channel)
        let slopeLanes = slopes.map { UnsafeRawPointer($0).lanes(channel) }
        let plane = dst + channel * g.outHeight * g.outWidth * 4
        let columns = min(6, g.outWidth - x0), rows = min(6, g.outHeight - y0)
        for j in 0..<columns {
            let col = temp + j * 8 * 64
            let y = WinogradF63.output(col.lanes(0), col.lanes(16), col.lanes(32), col.lanes(48),
                                       col.lanes(64), col.lanes(80), col.lanes(96), col.lanes(112))
            @inline(__always) func finish(_ value: Lanes) -> Lanes {
                let x = value + biasLanes
                guard let s = slopeLanes else { return x }
                return x.replacing(with: x * s, where: x .< 0)
            }
            let out = (plane + ((y0 * g.outWidth) + x0 + j) * 64).assumingMemoryBound(to: Float.self)
            let rowFloats = g.outWidth * 16
            @inline(__always) func put(_ row: Int, _ value: Lanes) {
                if g.streaming { reframe_stream_store16(out + row * rowFloats, finish(value)) } else {
                    UnsafeMutableRawPointer(out + row * rowFloats).store(finish(value), 0)
                }
            }
            put(0, y.0)
            if rows > 1 { put(1, y.1) }
            if rows > 2 { put(2, y.2) }
            if rows > 3 { put(3, y.3) }
            if rows > 4 { put(4, y.4) }
            if rows > 5 { put(5, y.5) }
        }
    }
}
