import NeuralKernels
import OneDNN

/// How a convolution node is compiled: the fastest of the host F(6,3) Winograd kernel, phase
/// convolutions or products + scatter for transposed convolutions, and oneDNN's own primitives.
extension PlanBuilder {
    mutating func planConvolution(_ node: Node, _ conv: Convolution, outShape: [Int]) throws {
        if conv.transposed, conv.groups == 1, try planDeconvolutionAsPhases(node, conv, outShape: outShape) { return }
        if conv.transposed, conv.groups == 1, try planDeconvolutionAsProducts(node, conv, outShape: outShape) { return }
        if try planWinogradF63(node, conv, outShape: outShape) { return }
        let src = try input(node, 0)
        guard conv.groups == 1 else { throw NeuralError.unsupportedParameter(layer: node.name, "grouped convolution") }
        let ic = src.shape[1]
        let weightsDims = [conv.outChannels, ic, conv.kernel.h, conv.kernel.w]
        var padEnd = [conv.pad.bottom, conv.pad.right]
        if conv.transposed { padEnd = [padEnd[0] - conv.outputPadding.h, padEnd[1] - conv.outputPadding.w] }
        let geometry = ConvolutionGeometry(strides: [conv.stride.h, conv.stride.w], dilations: [conv.dilation.h - 1, conv.dilation.w - 1],
                                           padBegin: [conv.pad.top, conv.pad.left], padEnd: padEnd)
        // Winograd F(4,3) roughly doubles throughput on 3×3 stride-1 layers with enough channels;
        // it fuses only a plain ReLU, so other activations run as a separate in-place pass. Below 32
        // input channels its transforms dominate: waifu2x's 16→32 layer at 640×360 took 17.0 ms
        // Winograd vs 10.5 ms direct on one thread (10.1 vs 5.3 ms on two).
        let winogradFits = !conv.transposed && conv.kernel == (3, 3) && conv.stride == (1, 1) && conv.dilation == (1, 1)
            && ic >= 32 && conv.outChannels >= 16
        let act = conv.activation.map(activation)
        var chosen: (Primitive, fused: Bool)?
        var failures: [String] = []
        search: for algorithm in winogradFits ? [ConvolutionAlgorithm.winograd, .direct] : [.direct] {
            let fuse = act.map { algorithm == .direct || $0.isPlainReLU } ?? false
            for srcLayout in [src.layout, try TensorLayout.any(src.shape)] {
                do {
                    let p = try engine.convolution(deconvolution: conv.transposed, algorithm: algorithm, src: srcLayout,
                                                   weightsDims: weightsDims, hasBias: conv.bias != nil, dstDims: outShape,
                                                   geometry: geometry, postOps: fuse ? [.activation(act!)] : [])
                    chosen = (p, fuse)
                    break search
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        guard let (primitive, fused) = chosen else {
            throw NeuralError.unsupportedParameter(layer: node.name, "no convolution implementation: \(failures.joined(separator: "; "))")
        }
        let source = try reordered(src, to: primitive.srcLayout ?? src.layout, label: node.name)
        let weights = try constant(conv.weights, dims: weightsDims, layout: primitive.weightsLayout ?? .plain(weightsDims))
        var args: [(Argument, Memory)] = [(.src, source.memory), (.weights, weights)]
        if let bias = conv.bias {
            args.append((.bias, try constant(bias, dims: [bias.count], layout: .plain([bias.count]))))
        }
        let dst = try place(shape: outShape, layout: primitive.dstLayout)
        args.append((.dst, dst.memory))
        try execute(primitive, args, label: node.name)
        layers.append("\(node.name): \(conv.transposed ? "deconvolution" : "convolution") \(primitive.implementation)")
        if let act, !fused {
            let e = try engine.eltwise(act, layout: dst.layout)
            try execute(e, [(.src, dst.memory), (.dst, dst.memory)], label: node.name + " activation")
        }
        define(node, dst)
    }

    /// A transposed convolution whose kernel is a whole multiple of its stride (RIFE's 4×4 stride 2)
    /// as one small direct convolution per output phase: output row S·m + r only ever reads taps
    /// ky ≡ r + pad (mod S), so phase (r, s) is a (K/S)×(K/S) convolution of the input with those
    /// taps, reversed, and padded so it lines up. No product is computed twice and none is zero;
    /// a host pass interleaves the phases (16-channel vectors, nChw16c in and out). Returns false,
    /// planning nothing, when the layer has another shape.
    mutating func planDeconvolutionAsPhases(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
        let src = try input(node, 0)
        let (n, ic, h, w) = (src.shape[0], src.shape[1], src.shape[2], src.shape[3])
        let (sh, sw) = conv.stride, (kh, kw) = conv.kernel, oc = conv.outChannels
        // Narrow outputs (RIFE's 5-channel flow and mask head) go to products + scatter: oneDNN has no
        // fast direct kernel for a few output channels (its GEMM path took 11 ms per phase there).
        guard oc >= 16, conv.dilation == (1, 1), conv.outputPadding == (0, 0), sh * sw > 1, kh % sh == 0, kw % sw == 0,
              outShape[2] % sh == 0, outShape[3] % sw == 0 else { return false }
        let (qh, qw) = (kh / sh, kw / sw), (ph, pw) = (outShape[2] / sh, outShape[3] / sw)
        struct Phase { var r: Int, s: Int, padBegin: [Int], padEnd: [Int], weights: [Float] }
        var phases: [Phase] = []
        for r in 0..<sh {
            for s in 0..<sw {
                let top = qh - 1 - (r + conv.pad.top) / sh, left = qw - 1 - (s + conv.pad.left) / sw
                let bottom = ph - h - top + qh - 1, right = pw - w - left + qw - 1
                guard min(top, left, bottom, right) >= 0 else { return false }
                var weights = [Float](repeating: 0, count: oc * ic * qh * qw)
                for o in 0..<oc {
                    for i in 0..<ic {
                        for t in 0..<qh {
                            let ky = (r + conv.pad.top) % sh + sh * (qh - 1 - t)
                            for u in 0..<qw {
                                let kx = (s + conv.pad.left) % sw + sw * (qw - 1 - u)
                                weights[((o * ic + i) * qh + t) * qw + u] = conv.weights[((o * ic + i) * kh + ky) * kw + kx]
                            }
                        }
                    }
                }
                phases.append(Phase(r: r, s: s, padBegin: [top, left], padEnd: [bottom, right], weights: weights))
            }
        }
        let phaseDims = [n, oc, ph, pw], weightsDims = [oc, ic, qh, qw]
        let phaseLayout = try TensorLayout.blocked16(phaseDims)
        let postOps: [PostOp] = conv.activation.map { [.activation(activation($0))] } ?? []
        var primitives: [Primitive] = []
        var sourceLayout = src.layout
        for phase in phases {
            let geometry = ConvolutionGeometry(strides: [1, 1], dilations: [0, 0], padBegin: phase.padBegin, padEnd: phase.padEnd)
            func make(_ layout: TensorLayout) throws -> Primitive {
                try engine.convolution(algorithm: .direct, src: layout, weightsDims: weightsDims, hasBias: conv.bias != nil,
                                       dstDims: phaseDims, dst: phaseLayout, geometry: geometry, postOps: postOps)
            }
            // Every phase reads the same source: the first phase picks its layout, the rest follow it.
            var chosen: Primitive?
            for layout in primitives.isEmpty ? [src.layout, try TensorLayout.any(src.shape)] : [sourceLayout] where chosen == nil {
                chosen = try? make(layout)
            }
            guard let p = chosen else { return false }
            if primitives.isEmpty { sourceLayout = p.srcLayout ?? src.layout }
            primitives.append(p)
        }
        let source = try reordered(src, to: sourceLayout, label: node.name)
        var outputs: [Int] = []
        for (phase, primitive) in zip(phases, primitives) {
            let out = try place(shape: phaseDims, layout: phaseLayout)
            temporaries.append(out.offset)
            outputs.append(out.offset)
            var args: [(Argument, Memory)] = [(.src, source.memory),
                                              (.weights, try constant(phase.weights, dims: weightsDims, layout: primitive.weightsLayout ?? .plain(weightsDims)))]
            if let bias = conv.bias { args.append((.bias, try constant(bias, dims: [oc], layout: .plain([oc])))) }
            args.append((.dst, out.memory))
            try execute(primitive, args, label: node.name + " phase \(phase.r),\(phase.s)")
        }
        let dst = try place(shape: outShape, layout: try .blocked16(outShape))
        let (dstOffset, threads, computeEngine) = (dst.offset, threads, engine)
        steps.append(PlanStep(label: node.name + " interleave") { base in
            try computeEngine.wait()
            DeconvolutionPhases.interleave(phases: outputs.map { UnsafePointer((base + $0).assumingMemoryBound(to: Float.self)) },
                                           stride: (sh, sw), batch: n, channels: oc, height: ph, width: pw,
                                           dst: (base + dstOffset).assumingMemoryBound(to: Float.self), threads: threads)
        })
        layers.append("\(node.name): deconvolution as \(phases.count) phase convolutions \(primitives[0].implementation) + interleave host")
        define(node, dst)
        return true
    }

    /// A transposed convolution as a 1×1 convolution producing every weight·input product, then a
    /// host scatter-add (see `DeconvolutionScatter`). oneDNN's own deconvolution runs several times
    /// slower. Returns false, planning nothing, when oneDNN has no fast 1×1 kernel for the shape.
    mutating func planDeconvolutionAsProducts(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
        let src = try input(node, 0)
        let (n, ic, h, w) = (src.shape[0], src.shape[1], src.shape[2], src.shape[3])
        let (kh, kw) = conv.kernel
        let scatter = DeconvolutionScatter(outChannels: conv.outChannels, kernel: conv.kernel, stride: conv.stride, dilation: conv.dilation,
                                           padBegin: (conv.pad.top, conv.pad.left), bias: conv.bias, activation: conv.activation)
        let productDims = [n, scatter.productChannels, h, w]
        let productLayout = try TensorLayout.blocked16(productDims)
        let weightsDims = [scatter.productChannels, ic, 1, 1]
        let pointwise = ConvolutionGeometry(strides: [1, 1], dilations: [0, 0], padBegin: [0, 0], padEnd: [0, 0])
        var chosen: Primitive?
        for srcLayout in [src.layout, try TensorLayout.any(src.shape)] where chosen == nil {
            chosen = try? engine.convolution(algorithm: .direct, src: srcLayout, weightsDims: weightsDims, hasBias: false,
                                             dstDims: productDims, dst: productLayout, geometry: pointwise, postOps: [])
        }
        guard let primitive = chosen else { return false }
        // Deconvolution weights are [o][ci][ky][kx]; product channel (o·kh + ky)·kw + kx reads them per ci.
        var weights = [Float](repeating: 0, count: scatter.productChannels * ic)
        for o in 0..<conv.outChannels {
            for ci in 0..<ic {
                for k in 0..<(kh * kw) { weights[((o * kh * kw) + k) * ic + ci] = conv.weights[(o * ic + ci) * kh * kw + k] }
            }
        }
        let source = try reordered(src, to: primitive.srcLayout ?? src.layout, label: node.name)
        let weightMemory = try constant(weights, dims: weightsDims, layout: primitive.weightsLayout ?? .plain(weightsDims))
        let products = try place(shape: productDims, layout: productLayout)
        temporaries.append(products.offset)
        try execute(primitive, [(.src, source.memory), (.weights, weightMemory), (.dst, products.memory)], label: node.name + " products")
        let dst = try place(shape: outShape, layout: .plain(outShape))
        let (productsOffset, dstOffset, threads, engine) = (products.offset, dst.offset, threads, engine)
        steps.append(PlanStep(label: node.name + " scatter") { base in
            try engine.wait()
            scatter.run(src: UnsafePointer((base + productsOffset).assumingMemoryBound(to: Float.self)), inShape: productDims,
                        dst: (base + dstOffset).assumingMemoryBound(to: Float.self), outShape: outShape, threads: threads)
        })
        layers.append("\(node.name): deconvolution as 1×1 \(primitive.implementation) + scatter host")
        define(node, dst)
        return true
    }

    /// 3×3 stride-1 convolutions with ≥ 32 input channels and whole groups of 64 output channels
    /// run on the host F(6,3) kernel (see `WinogradConvolution`), with a following PReLU folded in
    /// when the convolution's output feeds nothing else. Returns false, planning nothing, otherwise.
    mutating func planWinogradF63(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
        let src = try input(node, 0)
        let ic = src.shape[1], oc = conv.outChannels
        // nChw16c tensors hold whole 16-channel blocks (zeros past the last channel): the kernel runs
        // on those, with zero weights for the padding, and writes zeros back into it.
        let (icBlocks, ocBlocks) = ((ic + 15) / 16 * 16, (oc + 15) / 16 * 16)
        guard ComputeEngine.hasAVX512, !conv.transposed, conv.groups == 1, conv.kernel == (3, 3), conv.stride == (1, 1),
              conv.dilation == (1, 1), ic >= 32, oc >= 64, WinogradConvolution.supports(inChannels: icBlocks, outChannels: ocBlocks)
        else { return false }
        var activation = WinogradConvolution.Activation.none
        var output = node
        switch conv.activation {
        case .relu(let slope)?: activation = .leakyReLU(slope: slope)
        case nil:
            if let (index, prelu, slopes) = soleConsumingPReLU(of: node.outputs[0]), slopes.count == 1 || slopes.count == conv.outChannels {
                activation = .prelu(slopes: slopes)
                output = prelu
                fusedAway.insert(index)
            }
        default: return false
        }
        if case .prelu(let slopes) = activation, slopes.count == oc, oc < ocBlocks {
            activation = .prelu(slopes: slopes + [Float](repeating: 0, count: ocBlocks - oc))
        }
        var weights = conv.weights
        if (icBlocks, ocBlocks) != (ic, oc) {
            weights = [Float](repeating: 0, count: ocBlocks * icBlocks * 9)
            for o in 0..<oc { for i in 0..<ic { for k in 0..<9 { weights[(o * icBlocks + i) * 9 + k] = conv.weights[(o * ic + i) * 9 + k] } } }
        }
        let kernel = WinogradConvolution(weights: weights, bias: conv.bias.map { $0 + [Float](repeating: 0, count: ocBlocks - oc) },
                                         inChannels: icBlocks, outChannels: ocBlocks, activation: activation)
        let source = try reordered(src, to: try .blocked16(src.shape), label: node.name)
        let dst = try place(shape: outShape, layout: try .blocked16(outShape))
        hostScratch.reserve(kernel.scratchBytes(threads: threads))
        let (srcOffset, dstOffset, threads, engine, scratch) = (source.offset, dst.offset, threads, engine, hostScratch)
        let (n, h, w, padTop, padLeft) = (src.shape[0], src.shape[2], src.shape[3], conv.pad.top, conv.pad.left)
        steps.append(PlanStep(label: node.name) { base in
            try engine.wait()
            kernel.run(src: base + srcOffset, batch: n, height: h, width: w, padTop: padTop, padLeft: padLeft,
                       dst: base + dstOffset, outHeight: outShape[2], outWidth: outShape[3], scratch: scratch.pointer, threads: threads)
        })
        layers.append("\(node.name): convolution winograd_f63 host" + (output.name == node.name ? "" : " + \(output.name)"))
        define(output, dst)
        return true
    }

    /// The PReLU node reading `value`, when it is the value's only reader and the value is not a graph output.
    func soleConsumingPReLU(of value: Int) -> (index: Int, node: Node, slopes: [Float])? {
        guard uses[value] == 1, !graph.outputs.contains(value) else { return nil }
        for (index, node) in graph.nodes.enumerated() where node.inputs.contains(value) {
            guard let prelu = node.operation as? PReLU, node.inputs == [value] else { return nil }
            return (index, node, prelu.slopes)
        }
        return nil
    }
}
