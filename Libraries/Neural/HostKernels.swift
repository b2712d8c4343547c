import Dispatch

/// Host kernels on plain NCHW f32 buffers (here: the resize oneDNN does not offer with ncnn's exact
/// conventions; the other operators keep theirs in their own files).
/// Each works plane by plane and spreads planes across `threads` workers; no allocation per pixel.
enum HostKernels {
    static func parallel(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 { body(0..<count); return }
        // Workers write disjoint planes of buffers the caller keeps alive for the call.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: workers) { t in
            body((count * t / workers)..<(count * (t + 1) / workers))
        }
    }

    // MARK: resize

    static func interpolate(_ op: Interpolation, src: UnsafePointer<Float>, inShape: [Int], dst: UnsafeMutablePointer<Float>, outShape: [Int], threads: Int) {
        let planes = inShape[0] * inShape[1]
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        switch op.mode {
        case .nearest:
            let (yofs, xofs) = nearestIndices(op, inShape: inShape, outShape: outShape)
            parallel(planes, threads: threads) { range in
                for p in range {
                    let s = src + p * h * w, d = dst + p * oh * ow
                    for y in 0..<oh {
                        let row = s + yofs[y] * w, out = d + y * ow
                        for x in 0..<ow { out[x] = row[xofs[x]] }
                    }
                }
            }
        case .bilinear:
            let (xofs, alpha) = linearCoefficients(w, ow, op.alignCorners)
            let (yofs, beta) = linearCoefficients(h, oh, op.alignCorners)
            separable(columns: tapIndices(xofs, taps: 2, first: 0, size: w), alpha: alpha, rows: tapIndices(yofs, taps: 2, first: 0, size: h),
                      beta: beta, src: src, inShape: inShape, dst: dst, outShape: outShape, threads: threads)
        case .bicubic:
            let (xofs, alpha) = cubicCoefficients(w, ow, op.alignCorners)
            let (yofs, beta) = cubicCoefficients(h, oh, op.alignCorners)
            separable(columns: tapIndices(xofs, taps: 4, first: -1, size: w), alpha: alpha, rows: tapIndices(yofs, taps: 4, first: -1, size: h),
                      beta: beta, src: src, inShape: inShape, dst: dst, outShape: outShape, threads: threads)
        }
    }

    /// Source row of every output row and source column of every output column, as ncnn picks them:
    /// scale factors from the layer's parameters unless an explicit size is given.
    static func nearestIndices(_ op: Interpolation, inShape: [Int], outShape: [Int]) -> (rows: [Int], columns: [Int]) {
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        let hs = op.outputSize.h > 0 ? Float(h) / Float(oh) : 1 / op.scale.h
        let ws = op.outputSize.w > 0 ? Float(w) / Float(ow) : 1 / op.scale.w
        return ((0..<oh).map { min(Int(Float($0) * hs), h - 1) }, (0..<ow).map { min(Int(Float($0) * ws), w - 1) })
    }

    /// Source index of every tap (`taps` per output), starting at offset + `first`, clamped so a
    /// one-pixel axis never reads past its end (its extra taps carry zero weight).
    static func tapIndices(_ offsets: [Int], taps: Int, first: Int, size: Int) -> [Int] {
        offsets.flatMap { o in (0..<taps).map { min(max(o + first + $0, 0), size - 1) } }
    }

    /// A separable resize: output x reads source columns `columns[taps·x + k]` with weights
    /// `alpha[taps·x + k]` (likewise rows). Horizontal pass over the needed source rows first,
    /// then the vertical blend — ncnn's order, so rounding matches too. Horizontally resized rows
    /// are kept while consecutive output rows read them (an upscale by 4 reads each one 4 times).
    static func separable(columns: [Int], alpha: [Float], rows index: [Int], beta: [Float], src: UnsafePointer<Float>, inShape: [Int],
                          dst: UnsafeMutablePointer<Float>, outShape: [Int], threads: Int) {
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        let taps = alpha.count / max(ow, 1)
        let slots = taps + 1
        parallel(inShape[0] * inShape[1], threads: threads) { range in
            var cache = [Float](repeating: 0, count: ow * slots)
            var cached = [Int](repeating: -1, count: slots)  // source row held by each slot
            var picked = [Int](repeating: 0, count: taps)
            cache.withUnsafeMutableBufferPointer { r in
                for p in range {
                    let s = src + p * h * w, d = dst + p * oh * ow
                    for i in cached.indices { cached[i] = -1 }
                    for y in 0..<oh {
                        for k in 0..<taps {
                            let sy = index[taps * y + k]
                            if let slot = cached.firstIndex(of: sy) { picked[k] = slot; continue }
                            // Evict a slot this output row does not use.
                            let slot = (0..<slots).first { q in !(0..<k).contains { picked[$0] == q } && !(k..<taps).contains { index[taps * y + $0] == cached[q] } }!
                            let row = s + sy * w, out = r.baseAddress! + slot * ow
                            for x in 0..<ow {
                                let a = taps * x
                                var v: Float = 0
                                for t in 0..<taps { v += row[columns[a + t]] * alpha[a + t] }
                                out[x] = v
                            }
                            cached[slot] = sy
                            picked[k] = slot
                        }
                        let out = d + y * ow
                        for x in 0..<ow {
                            var v: Float = 0
                            for k in 0..<taps { v += r[picked[k] * ow + x] * beta[taps * y + k] }
                            out[x] = v
                        }
                    }
                }
            }
        }
    }

    /// Source position of every output index as ncnn computes it (half-pixel centres unless
    /// `alignCorners`): the integer tap `sx` and the fraction `fx` past it.
    static func sourcePositions(_ w: Int, _ outw: Int, _ alignCorners: Bool) -> [(sx: Int, fx: Float)] {
        let scale = alignCorners && outw > 1 ? Double(w - 1) / Double(outw - 1) : Double(w) / Double(outw)
        return (0..<outw).map { dx in
            let fx = alignCorners ? Float(Double(dx) * scale) : Float((Double(dx) + 0.5) * scale - 0.5)
            let sx = Int(fx.rounded(.down))
            return (sx, fx - Float(sx))
        }
    }

    /// ncnn's half-pixel linear taps, clamped at the borders.
    static func linearCoefficients(_ w: Int, _ outw: Int, _ alignCorners: Bool) -> ([Int], [Float]) {
        var xofs = [Int](repeating: 0, count: outw), alpha = [Float](repeating: 0, count: outw * 2)
        for (dx, var (sx, fx)) in sourcePositions(w, outw, alignCorners).enumerated() {
            if sx < 0 { sx = 0; fx = 0 }
            if sx >= w - 1 { sx = max(w - 2, 0); fx = w > 1 ? 1 : 0 }
            xofs[dx] = sx
            alpha[2 * dx] = 1 - fx
            alpha[2 * dx + 1] = fx
        }
        return (xofs, alpha)
    }

    /// ncnn's bicubic taps (A = −0.75) with its edge folding: taps that would fall outside the
    /// image are merged into the nearest inside tap, so the four taps (sx−1 … sx+2) stay in [0, w).
    static func cubicCoefficients(_ w: Int, _ outw: Int, _ alignCorners: Bool) -> ([Int], [Float]) {
        var xofs = [Int](repeating: 0, count: outw), alpha = [Float](repeating: 0, count: outw * 4)
        for (dx, (position, fx)) in sourcePositions(w, outw, alignCorners).enumerated() {
            var sx = position
            var a = cubicWeights(fx)
            if sx <= -1 {
                sx = 1
                a = (1 - a.3, a.3, 0, 0)
            }
            if sx == 0 {
                sx = 1
                a = (a.0 + a.1, a.2, a.3, 0)
            }
            if sx == w - 2 {
                sx = w - 3
                a = (0, a.0, a.1, a.2 + a.3)
            }
            if sx >= w - 1 {
                sx = w - 3
                a = (0, 0, a.0, 1 - a.0)
            }
            xofs[dx] = sx
            alpha[4 * dx] = a.0
            alpha[4 * dx + 1] = a.1
            alpha[4 * dx + 2] = a.2
            alpha[4 * dx + 3] = a.3
        }
        return (xofs, alpha)
    }

    static func cubicWeights(_ fx: Float) -> (Float, Float, Float, Float) {
        let A: Float = -0.75
        let fx0 = fx + 1, fx1 = fx, fx2 = 1 - fx
        let c0 = A * fx0 * fx0 * fx0 - 5 * A * fx0 * fx0 + 8 * A * fx0 - 4 * A
        let c1 = (A + 2) * fx1 * fx1 * fx1 - (A + 3) * fx1 * fx1 + 1
        let c2 = (A + 2) * fx2 * fx2 * fx2 - (A + 3) * fx2 * fx2 + 1
        return (c0, c1, c2, 1 - c0 - c1 - c2)
    }
}
