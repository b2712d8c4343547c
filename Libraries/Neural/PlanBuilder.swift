import NeuralKernels
import OneDNN

/// Compiles a graph for one input shape. Tensors stay in whatever layout the producing primitive
/// chose (blocked for convolutions) and are reordered only where a consumer needs another one;
/// elementwise layers run in place when their input dies with them.
struct PlanBuilder {
    struct Placed {
        var shape: [Int]
        var layout: TensorLayout
        var offset: Int
        var memory: Memory
    }

    let graph: Graph
    let engine: ComputeEngine
    let threads: Int
    private var allocator = ArenaAllocator()
    private var placed: [Int: Placed] = [:]
    private var uses: [Int: Int] = [:]
    private var steps: [PlanStep] = []
    private var bindings: [(Memory, Int)] = []
    private var constants: [AlignedBuffer] = []
    private var layers: [String] = []
    private var temporaries: [Int] = []
    /// Scratchpad memories share one region placed after everything else (steps run one at a time).
    private var scratchpads: [Memory] = []
    private var scratchpadBytes = 0
    /// Scratch for host kernels, grown while planning; steps read it when they run.
    private let hostScratch = HostScratch()
    /// Nodes whose work an earlier node absorbed (a PReLU fused into its convolution).
    private var fusedAway = Set<Int>()

    init(graph: Graph, engine: ComputeEngine, threads: Int) {
        self.graph = graph
        self.engine = engine
        self.threads = threads
    }

    mutating func build(inputShapes: [[Int]]) throws -> ExecutionPlan {
        guard graph.inputs.count == inputShapes.count, !graph.outputs.isEmpty else {
            throw NeuralError.shapeMismatch("graph '\(graph.name)' has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; given \(inputShapes.count) inputs")
        }
        for shape in inputShapes where shape.count != 4 || !shape.allSatisfy({ $0 > 0 }) {
            throw NeuralError.shapeMismatch("input shape \(shape) is not a non-empty NCHW shape")
        }
        for node in graph.nodes { for v in node.inputs { uses[v, default: 0] += 1 } }
        for v in graph.outputs { uses[v, default: 0] += 1 }  // outputs stay alive to the end
        var inputOffsets: [Int] = []
        for (value, shape) in zip(graph.inputs, inputShapes) {
            let input = try place(shape: shape, layout: .plain(shape))
            placed[value] = input
            inputOffsets.append(input.offset)
        }
        for (index, node) in graph.nodes.enumerated() {
            if !fusedAway.contains(index) { try plan(node) }
            for t in temporaries { allocator.release(t) }
            temporaries.removeAll()
            for v in Set(node.inputs) {
                uses[v, default: 0] -= node.inputs.filter { $0 == v }.count
                if uses[v] == 0, let p = placed.removeValue(forKey: v) { allocator.release(p.offset) }
            }
        }
        var outputOffsets: [Int] = [], outputShapes: [[Int]] = []
        for v in graph.outputs {
            guard let out = placed[v] else { throw NeuralError.malformedModel("output '\(graph.valueNames[v])' was never produced") }
            outputOffsets.append(try plainOffset(of: out, label: "output \(graph.valueNames[v])"))
            outputShapes.append(out.shape)
        }
        // Above every tensor: offsets freed by now were live while earlier steps ran.
        let region = allocator.highWater
        for m in scratchpads { bindings.append((m, region)) }
        return ExecutionPlan(inputShapes: inputShapes, outputShapes: outputShapes, inputOffsets: inputOffsets, outputOffsets: outputOffsets,
                             arenaBytes: region + scratchpadBytes, hostScratchBytes: hostScratch.bytes, layers: layers, steps: steps,
                             bindings: bindings, constants: constants)
    }

    // MARK: helpers

    private mutating func memory(_ layout: TensorLayout, offset: Int) throws -> Memory {
        let m = try Memory(layout: layout, engine: engine)
        bindings.append((m, offset))
        return m
    }

    private mutating func place(shape: [Int], layout: TensorLayout) throws -> Placed {
        let offset = allocator.allocate(layout.byteCount)
        return Placed(shape: shape, layout: layout, offset: offset, memory: try memory(layout, offset: offset))
    }

    private func input(_ node: Node, _ i: Int) throws -> Placed {
        guard let p = placed[node.inputs[i]] else {
            throw NeuralError.malformedModel("layer '\(node.name)' reads '\(graph.valueNames[node.inputs[i]])' before it exists")
        }
        return p
    }

    /// The input's buffer when this node is its last reader (so it may be overwritten).
    private mutating func takeForInPlace(_ node: Node, _ i: Int) -> Placed? {
        let v = node.inputs[i]
        guard uses[v] == node.inputs.filter({ $0 == v }).count, node.inputs.filter({ $0 == v }).count == 1,
              let p = placed.removeValue(forKey: v) else { return nil }
        return p
    }

    private mutating func execute(_ primitive: Primitive, _ args: [(Argument, Memory)], label: String) throws {
        var args = args
        if let layout = primitive.scratchpadLayout {
            let m = try Memory(layout: layout, engine: engine)
            scratchpads.append(m)
            scratchpadBytes = max(scratchpadBytes, layout.byteCount)
            args.append((.scratchpad, m))
        }
        steps.append(PlanStep(label: label) { _ in try primitive.execute(args) })
    }

    private mutating func reordered(_ p: Placed, to layout: TensorLayout, label: String) throws -> Placed {
        if p.layout == layout { return p }
        let t = try place(shape: p.shape, layout: layout)
        temporaries.append(t.offset)
        try execute(try engine.reorder(from: p.layout, to: layout), [(.src, p.memory), (.dst, t.memory)], label: label + " reorder")
        return t
    }

    /// Offset of a plain NCHW copy of `p` (itself when already plain).
    private mutating func plainOffset(of p: Placed, label: String) throws -> Int {
        try reordered(p, to: .plain(p.shape), label: label).offset
    }

    /// Weights or slopes copied once into the layout a primitive wants.
    private mutating func constant(_ values: [Float], dims: [Int], layout: TensorLayout) throws -> Memory {
        let plain = try TensorLayout.plain(dims)
        let buffer = AlignedBuffer(byteCount: layout.byteCount)
        constants.append(buffer)
        let target = try Memory(layout: layout, engine: engine, handle: buffer.pointer)
        var values = values
        try values.withUnsafeMutableBytes { raw in
            let source = try Memory(layout: plain, engine: engine, handle: raw.baseAddress!)
            let reorder = try engine.reorder(from: plain, to: layout)
            var args: [(Argument, Memory)] = [(.src, source), (.dst, target)]
            var scratch: AlignedBuffer?
            if let s = reorder.scratchpadLayout {
                scratch = AlignedBuffer(byteCount: s.byteCount)
                args.append((.scratchpad, try Memory(layout: s, engine: engine, handle: scratch!.pointer)))
            }
            try reorder.execute(args)
            try engine.wait()
            withExtendedLifetime(scratch) {}
        }
        return target
    }

    private mutating func define(_ node: Node, _ p: Placed) {
        placed[node.outputs[0]] = p
    }

    // MARK: nodes

    private mutating func plan(_ node: Node) throws {
        let shapes = try node.inputs.indices.map { try input(node, $0).shape }
        let outShape = try node.operation.outputShape(inputs: shapes, layer: node.name)
        switch node.operation {
        case .convolution(let conv):
            try planConvolution(node, conv, outShape: outShape)
        case .prelu(let slopes):
            if slopes.count == 1 {
                try planEltwise(node, .relu(slope: slopes[0]))
            } else {
                let src = try input(node, 0)
                let dims = [1, slopes.count, 1, 1]
                let slopeLayout = try TensorLayout.like(src.layout, dims: dims)
                let primitive = try engine.prelu(layout: src.layout, slopes: slopeLayout)
                let weights = try constant(slopes, dims: dims, layout: slopeLayout)
                let dst = try takeForInPlace(node, 0) ?? place(shape: outShape, layout: src.layout)
                try execute(primitive, [(.src, src.memory), (.weights, weights), (.dst, dst.memory)], label: node.name)
                layers.append("\(node.name): prelu \(primitive.implementation)")
                define(node, dst)
            }
        case .activation(let f):
            try planEltwise(node, activation(f))
        case .binary(let kind, let scalar):
            if let scalar {
                try planEltwise(node, try scalarActivation(kind, scalar, layer: node.name))
            } else {
                try planBinary(node, kind, outShape: outShape)
            }
        case .eltwise(let kind, let coefficients):
            try planEltwiseLayer(node, kind, coefficients, outShape: outShape)
        case .concat(let axis):
            let sources = try node.inputs.indices.map { try input(node, $0) }
            let blockFriendly = axis == 1 && sources.allSatisfy { !$0.layout.isPlain && $0.shape[1] % 16 == 0 }
            let layout = blockFriendly ? try TensorLayout.blocked16(outShape) : try TensorLayout.plain(outShape)
            let dst = try place(shape: outShape, layout: layout)
            let primitive = try engine.concat(axis: axis, sources: sources.map(\.layout), dst: layout)
            var args: [(Argument, Memory)] = sources.enumerated().map { (.multipleSrc($0.offset), $0.element.memory) }
            args.append((.dst, dst.memory))
            try execute(primitive, args, label: node.name)
            layers.append("\(node.name): concat \(primitive.implementation)")
            define(node, dst)
        case .interpolate, .pixelShuffle, .crop, .padding, .warp, .maskedBlend:
            try planHostOperation(node, outShape: outShape)
        case .pixelShuffleAdd(let r, let skip):
            try planPixelShuffleAdd(node, factor: r, skip: skip, outShape: outShape)
        }
    }

    private mutating func planConvolution(_ node: Node, _ conv: Convolution, outShape: [Int]) throws {
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
    private mutating func planDeconvolutionAsPhases(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
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
    private mutating func planDeconvolutionAsProducts(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
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
    private mutating func planWinogradF63(_ node: Node, _ conv: Convolution, outShape: [Int]) throws -> Bool {
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
    private func soleConsumingPReLU(of value: Int) -> (index: Int, node: Node, slopes: [Float])? {
        guard uses[value] == 1, !graph.outputs.contains(value) else { return nil }
        for (index, node) in graph.nodes.enumerated() where node.inputs.contains(value) {
            guard case .prelu(let slopes) = node.operation, node.inputs == [value] else { return nil }
            return (index, node, slopes)
        }
        return nil
    }

    private mutating func planEltwise(_ node: Node, _ act: Activation) throws {
        let src = try input(node, 0)
        let primitive = try engine.eltwise(act, layout: src.layout)
        let dst = try takeForInPlace(node, 0) ?? place(shape: src.shape, layout: src.layout)
        try execute(primitive, [(.src, src.memory), (.dst, dst.memory)], label: node.name)
        layers.append("\(node.name): eltwise \(primitive.implementation)")
        define(node, dst)
    }

    private mutating func planBinary(_ node: Node, _ kind: BinaryOperation, outShape: [Int]) throws {
        var (ia, ib) = (0, 1)
        let op: BinaryKind
        switch kind {
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        case .max: op = .max
        case .min: op = .min
        case .reverseSub: op = .sub; (ia, ib) = (1, 0)
        case .reverseDiv: op = .div; (ia, ib) = (1, 0)
        }
        let a = try input(node, ia)
        let b = try reordered(try input(node, ib), to: a.layout, label: node.name)
        let primitive = try engine.binary(op, a: a.layout, b: a.layout)
        let reusable = node.inputs[0] != node.inputs[1] ? takeForInPlace(node, ia) : nil
        let dst = try reusable ?? place(shape: outShape, layout: a.layout)
        try execute(primitive, [(.src, a.memory), (.src1, b.memory), (.dst, dst.memory)], label: node.name)
        layers.append("\(node.name): binary \(primitive.implementation)")
        define(node, dst)
    }

    private mutating func planEltwiseLayer(_ node: Node, _ kind: EltwiseOperation, _ coefficients: [Float], outShape: [Int]) throws {
        let sources = try node.inputs.indices.map { try input(node, $0) }
        let layout = sources[0].layout
        let dst = try place(shape: outShape, layout: layout)
        switch kind {
        case .sum:
            let scales = coefficients.isEmpty ? [Float](repeating: 1, count: sources.count) : coefficients
            let primitive = try engine.sum(scales: scales, sources: sources.map(\.layout), dst: layout)
            var args: [(Argument, Memory)] = sources.enumerated().map { (.multipleSrc($0.offset), $0.element.memory) }
            args.append((.dst, dst.memory))
            try execute(primitive, args, label: node.name)
            layers.append("\(node.name): sum \(primitive.implementation)")
        case .product, .max:
            let op: BinaryKind = kind == .product ? .mul : .max
            var accumulated = sources[0].memory
            for s in sources.dropFirst() {
                let b = try reordered(s, to: layout, label: node.name)
                let primitive = try engine.binary(op, a: layout, b: layout)
                try execute(primitive, [(.src, accumulated), (.src1, b.memory), (.dst, dst.memory)], label: node.name)
                accumulated = dst.memory
            }
            layers.append("\(node.name): eltwise \(kind)")
        }
        define(node, dst)
    }

    /// Operations that run on the host over plain NCHW buffers. The kernel is chosen here, at plan
    /// time, so an operation without one fails before anything runs.
    private mutating func planHostOperation(_ node: Node, outShape: [Int]) throws {
        let sources = try node.inputs.indices.map { try input(node, $0) }
        let offsets = try sources.map { try plainOffset(of: $0, label: node.name) }
        let shapes = sources.map(\.shape)
        let dst = try place(shape: outShape, layout: .plain(outShape))
        let (inShape, threads) = (shapes[0], threads)
        typealias Kernel = ([UnsafePointer<Float>], UnsafeMutablePointer<Float>) -> Void
        let kernel: Kernel
        switch node.operation {
        case .interpolate(let i): kernel = { HostKernels.interpolate(i, src: $0[0], inShape: inShape, dst: $1, outShape: outShape, threads: threads) }
        case .pixelShuffle(let r): kernel = { HostKernels.pixelShuffle(factor: r, src: $0[0], inShape: inShape, dst: $1, threads: threads) }
        case .crop(let c): kernel = { HostKernels.crop(c, src: $0[0], inShape: inShape, dst: $1, outShape: outShape, threads: threads) }
        case .padding(let p): kernel = { HostKernels.pad(p, src: $0[0], inShape: inShape, dst: $1, threads: threads) }
        case .warp(let k):
            let flowChannels = shapes[1][1]
            kernel = {
                BackwardWarp.run(image: $0[0], channels: inShape[1], flow: $0[1], flowChannels: flowChannels, flowChannel: k,
                                 batch: inShape[0], height: inShape[2], width: inShape[3], dst: $1, threads: threads)
            }
        case .maskedBlend(let k):
            let maskChannels = shapes[2][1]
            kernel = {
                MaskedBlend.run(a: $0[0], b: $0[1], channels: inShape[1], mask: $0[2], maskChannels: maskChannels, maskChannel: k,
                                batch: inShape[0], plane: inShape[2] * inShape[3], dst: $1, threads: threads)
            }
        default:
            throw NeuralError.unsupportedLayer(name: node.name, type: node.operation.kindName)
        }
        let (outOffset, engine) = (dst.offset, engine)
        steps.append(PlanStep(label: node.name) { base in
            try engine.wait()
            kernel(offsets.map { UnsafePointer((base + $0).assumingMemoryBound(to: Float.self)) },
                   (base + outOffset).assumingMemoryBound(to: Float.self))
        })
        layers.append("\(node.name): \(node.operation.kindName) host")
        define(node, dst)
    }

    private mutating func planPixelShuffleAdd(_ node: Node, factor r: Int, skip op: Interpolation, outShape: [Int]) throws {
        var conv = try input(node, 0)
        let blocked = try conv.layout == TensorLayout.blocked16(conv.shape)
        if !blocked { conv = try reordered(conv, to: .plain(conv.shape), label: node.name) }
        let skip = try input(node, 1)
        let skipOffset = try plainOffset(of: skip, label: node.name + " skip")
        let dst = try place(shape: outShape, layout: .plain(outShape))
        let (rows, columns) = HostKernels.nearestIndices(op, inShape: skip.shape, outShape: outShape)
        let (convOffset, convShape, skipShape, dstOffset, threads, engine) = (conv.offset, conv.shape, skip.shape, dst.offset, threads, engine)
        steps.append(PlanStep(label: node.name) { base in
            try engine.wait()
            HostKernels.pixelShuffleAdd(factor: r, conv: UnsafePointer((base + convOffset).assumingMemoryBound(to: Float.self)),
                                        convShape: convShape, convBlocked: blocked,
                                        skip: UnsafePointer((base + skipOffset).assumingMemoryBound(to: Float.self)), skipShape: skipShape,
                                        rows: rows, columns: columns, dst: (base + dstOffset).assumingMemoryBound(to: Float.self), threads: threads)
        })
        layers.append("\(node.name): pixel-shuffle-add host (\(blocked ? "blocked" : "plain") input)")
        define(node, dst)
    }

    // MARK: activation mapping

    private func activation(_ f: ActivationFunction) -> Activation {
        switch f {
        case .relu(let slope): return .relu(slope: slope)
        case .sigmoid: return .sigmoid
        case .clip(let lo, let hi): return .clip(min: lo, max: hi)
        }
    }

    private func scalarActivation(_ kind: BinaryOperation, _ b: Float, layer: String) throws -> Activation {
        switch kind {
        case .add: return .linear(scale: 1, shift: b)
        case .sub: return .linear(scale: 1, shift: -b)
        case .mul: return .linear(scale: b, shift: 0)
        case .div:
            guard b != 0 else { throw NeuralError.unsupportedParameter(layer: layer, "division by a zero scalar") }
            return .linear(scale: 1 / b, shift: 0)
        case .reverseSub: return .linear(scale: -1, shift: b)
        case .max: return .clip(min: b, max: .greatestFiniteMagnitude)
        case .min: return .clip(min: -.greatestFiniteMagnitude, max: b)
        case .reverseDiv: throw NeuralError.unsupportedParameter(layer: layer, "scalar divided by a tensor")
        }
    }
}
