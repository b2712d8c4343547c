/// out[q][y·r+i][x·r+j] = conv[q·r²+i·r+j][y][x] + skip[q][rows[y·r+i]][columns[x·r+j]]: the fused
/// tail of `ShuffleAddFusion`. `conv` is read either plain NCHW or in oneDNN's nChw16c blocks, so the
/// convolution's output needs no reorder; `skip` and `dst` are plain. `rows`/`columns` are the skip's
/// nearest-neighbour source indices (`nearestIndices`), computed once per plan.
extension HostKernels {
    static func pixelShuffleAdd(factor r: Int, conv: UnsafePointer<Float>, convShape: [Int], convBlocked: Bool, skip: UnsafePointer<Float>,
                                skipShape: [Int], rows: [Int], columns: [Int], dst: UnsafeMutablePointer<Float>, threads: Int) {
        let (n, c, h, w) = (convShape[0], convShape[1], convShape[2], convShape[3])
        let (oc, oh, ow) = (c / (r * r), h * r, w * r)
        let (sh, sw) = (skipShape[2], skipShape[3])
        // Channel k at (y, x): plain k·h·w + y·w + x; blocked ((k/16)·h + y)·w·16 + x·16 + k%16.
        let batchStride = convBlocked ? (c + 15) / 16 * 16 * h * w : c * h * w
        let pixelStride = convBlocked ? 16 : 1
        columns.withUnsafeBufferPointer { columns in
        parallel(n * oc * oh, threads: threads) { range in
            for row in range {
                let (b, q, oy) = (row / (oc * oh), row / oh % oc, row % oh)
                let (y, i) = (oy / r, oy % r)
                let out = dst + row * ow
                let skipRow = skip + ((b * oc + q) * sh + rows[oy]) * sw
                for j in 0..<r {
                    let k = q * r * r + i * r + j
                    let plane = conv + b * batchStride + (convBlocked ? ((k / 16) * h + y) * w * 16 + k % 16 : (k * h + y) * w)
                    var ox = j
                    for x in 0..<w {
                        out[ox] = plane[x * pixelStride] + skipRow[columns[ox]]
                        ox += r
                    }
                }
            }
        }
        }
    }
}
