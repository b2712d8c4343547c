import OneDNN

/// PixelShuffle of input 0 plus input 1 enlarged by a nearest-neighbour `skip` resize: the
/// residual tail of Real-ESRGAN-style networks, fused into one pass by `ShuffleAddFusion` (no
/// importer makes it).
public struct PixelShuffleAdd: Operator {
    public static let typeName = "pixel-shuffle-add"
    public var factor: Int
    public var skip: Interpolation

    public init(factor: Int, skip: Interpolation) {
        self.factor = factor
        self.skip = skip
    }

    public var inputCount: ClosedRange<Int> { 2...2 }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        _ = try nchw(inputs, layer: layer)
        let shuffled = try PixelShuffle(factor: factor).outputShape(inputs: [inputs[0]], layer: layer)
        guard try skip.outputShape(inputs: [inputs[1]], layer: layer) == shuffled else {
            throw NeuralError.shapeMismatch("layer '\(layer)': the resized skip input \(inputs[1]) does not match \(shuffled)")
        }
        return shuffled
    }

    static let registration = OperatorRegistration(PixelShuffleAdd.self, plan: { op, node, outShape, builder in
        var conv = try builder.input(node, 0)
        // The convolution's blocked output is read as it is: no reorder pass.
        let blocked = try conv.layout == TensorLayout.blocked16(conv.shape)
        if !blocked { conv = try builder.reordered(conv, to: .plain(conv.shape), label: node.name) }
        let skip = try builder.input(node, 1)
        let skipOffset = try builder.plainOffset(of: skip, label: node.name + " skip")
        let dst = try builder.place(shape: outShape, layout: .plain(outShape))
        let (rows, columns) = HostKernels.nearestIndices(op.skip, inShape: skip.shape, outShape: outShape)
        let (convOffset, convShape, skipShape, dstOffset, r) = (conv.offset, conv.shape, skip.shape, dst.offset, op.factor)
        builder.hostStep(node.name) { base, threads in
            HostKernels.pixelShuffleAdd(factor: r, conv: UnsafePointer((base + convOffset).assumingMemoryBound(to: Float.self)),
                                        convShape: convShape, convBlocked: blocked,
                                        skip: UnsafePointer((base + skipOffset).assumingMemoryBound(to: Float.self)), skipShape: skipShape,
                                        rows: rows, columns: columns, dst: (base + dstOffset).assumingMemoryBound(to: Float.self), threads: threads)
        }
        builder.describe("\(node.name): pixel-shuffle-add host (\(blocked ? "blocked" : "plain") input)")
        builder.define(node, dst)
    })
}

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
