/// RIFE HDv3 (the ECCV 2022 release's `IFNet_HDv3`, `flownet.pkl`) as a graph of our IR: the middle
/// frame (t = 0.5) of two RGB frames in 0…1.
///
/// The reference runs each of three IFBlocks twice per level, once on (frame 0, frame 1, mask,
/// flow) and once on (frame 1, frame 0, −mask, swapped flow), and averages. Here both passes read
/// one concatenated input and the differences live in their weights: input channels are permuted,
/// negated and scaled (the flow's ÷scale after a resize) in the first convolution, output channels
/// permuted, negated and scaled (the flow's ×scale) in the last deconvolution. The flow and mask
/// branches' deconvolutions are merged into one of each. Resizes are linear per channel, so the two
/// passes are averaged before the upsampling, and the state is one 5-channel tensor (flow 0→t,
/// flow 1→t, mask). None of this changes the function the reference computes.
public enum RIFEHDv3 {
    static let width = 90
    static let blockInputs = 11

    /// Input sides must be multiples of this (the reference pads with zeros to it).
    public static func alignment(scale: Double) -> Int { max(32, Int(32 / scale)) }

    /// `scale` is the reference's user scale: 1 for ≤ 1080p, 0.5 for 4K (the flow is estimated at
    /// half resolution). Inputs: `img0`, `img1` (1×3×H×W); output: the frame between them.
    public static func graph(checkpoint: TorchCheckpoint, scale: Double = 1) throws -> Graph {
        guard [0.25, 0.5, 1, 2].contains(scale) else {
            throw NeuralError.unsupportedParameter(layer: "RIFE", "scale \(scale) (use 0.25, 0.5, 1 or 2)")
        }
        var g = GraphBuilder(name: "rife-hdv3")
        let img0 = g.input("img0"), img1 = g.input("img1")
        let scales = [4 / scale, 2 / scale, 1 / scale].map(Float.init)
        var state: Int?
        var warped = (img0, img1)
        for (level, s) in scales.enumerated() {
            let prefix = "block\(level)"
            // Block input: frames (warped after the first level), then the state's flow and mask —
            // each resized on its own (resizing is per channel) so the concat runs at low resolution.
            let parts = state.map { [warped.0, warped.1, $0] } ?? [img0, img1]
            let down = Interpolation(mode: .bilinear, scale: (1 / s, 1 / s))
            let resized = s == 1 ? parts : parts.enumerated().map { g.add("\(prefix).down\($0.offset)", down, [$0.element]) }
            let x = g.add("\(prefix).input", Concat(axis: 1), resized)
            var passes: [Int] = []
            for pass in [Pass.forward, .backward] {
                passes.append(try block(&g, checkpoint: checkpoint, prefix: prefix, pass: pass, input: x,
                                        hasState: state != nil, scale: s))
            }
            let averaged = g.add("\(prefix).average", Eltwise(.sum, coefficients: [0.5, 0.5]), passes)
            let update = s == 1 ? averaged : g.add("\(prefix).up", Interpolation(mode: .bilinear, scale: (s, s)), [averaged])
            let next = state.map { g.add("\(prefix).state", Eltwise(.sum), [$0, update]) } ?? update
            state = next
            warped = (g.add("\(prefix).warp0", Warp(flowChannel: 0), [img0, next]),
                      g.add("\(prefix).warp1", Warp(flowChannel: 2), [img1, next]))
        }
        let merged = g.add("merged", MaskedBlend(maskChannel: 4), [warped.0, warped.1, state!])
        return g.graph(outputs: [merged])
    }

    /// The reference's two passes per level.
    enum Pass: String {
        /// (frame 0, frame 1, mask, flow)
        case forward = "a"
        /// (frame 1, frame 0, −mask, flow halves swapped); its outputs are swapped back and the mask negated.
        case backward = "b"
    }

    /// One IFBlock pass on `input` (frames, then state flow ×4 and mask at 1/s resolution, or just the
    /// two frames at the first level); returns its flow and mask update in state order at 1/s resolution.
    private static func block(_ g: inout GraphBuilder, checkpoint: TorchCheckpoint, prefix: String, pass: Pass, input: Int,
                              hasState: Bool, scale s: Float) throws -> Int {
        let c = width, name = "\(prefix)\(pass.rawValue)"
        func t(_ key: String, _ shape: [Int]) throws -> [Float] { try checkpoint.tensor("\(prefix).\(key)", shape: shape).data }

        // First convolution: rebuild its weights for our input channel order.
        let first = try t("conv0.0.0.weight", [c / 2, blockInputs, 3, 3])
        // Reference input slots: 0–2 first frame, 3–5 second frame, 6 mask, 7–10 flow.
        var map: [(slot: Int, factor: Float)] = (0..<3).map { pass == .forward ? ($0, 1) : ($0 + 3, 1) }
            + (0..<3).map { pass == .forward ? ($0 + 3, 1) : ($0, 1) }
        if hasState {
            map += (0..<4).map { k in (7 + (pass == .forward ? k : (k + 2) % 4), 1 / s) }
            map.append((6, pass == .forward ? 1 : -1))
        }
        var w0 = [Float](repeating: 0, count: c / 2 * map.count * 9)
        for o in 0..<(c / 2) {
            for (p, m) in map.enumerated() {
                for k in 0..<9 { w0[(o * map.count + p) * 9 + k] = first[(o * blockInputs + m.slot) * 9 + k] * m.factor }
            }
        }
        var x = conv(&g, "\(name).conv0.0", input, outChannels: c / 2, weights: w0, bias: try t("conv0.0.0.bias", [c / 2]),
                     stride: 2, slopes: try t("conv0.0.1.weight", [c / 2]))
        x = conv(&g, "\(name).conv0.1", x, outChannels: c, weights: try t("conv0.1.0.weight", [c, c / 2, 3, 3]),
                 bias: try t("conv0.1.0.bias", [c]), stride: 2, slopes: try t("conv0.1.1.weight", [c]))
        for r in 0..<4 {
            var y = x
            for j in 0..<2 {
                let key = "convblock\(r).\(j)"
                y = conv(&g, "\(name).\(key)", y, outChannels: c, weights: try t("\(key).0.weight", [c, c, 3, 3]),
                         bias: try t("\(key).0.bias", [c]), stride: 1, slopes: try t("\(key).1.weight", [c]))
            }
            x = g.add("\(name).convblock\(r).add", BinaryOp(.add), [y, x])
        }

        // Flow (conv1) and mask (conv2) heads: both first deconvolutions in one, PyTorch [in][out] → [out][in].
        let h = c / 2
        var up = [Float](repeating: 0, count: c * c * 16)
        for (branch, key) in ["conv1", "conv2"].enumerated() {
            let w = try t("\(key).0.weight", [c, h, 4, 4])
            for o in 0..<h { for i in 0..<c { for k in 0..<16 { up[((branch * h + o) * c + i) * 16 + k] = w[(i * h + o) * 16 + k] } } }
        }
        let upBias = try t("conv1.0.bias", [h]) + t("conv2.0.bias", [h])
        let upSlopes = try t("conv1.1.weight", [h]) + t("conv2.1.weight", [h])
        x = g.add("\(name).head.0", deconvolution(outChannels: c, weights: up, bias: upBias), [x])
        x = g.add("\(name).head.1", PReLU(slopes: upSlopes), [x])

        // Last deconvolutions: state channel k takes flow channel k (forward) or (k+2)%4 (backward,
        // the swap), ×s for the upsampling; channel 4 takes the mask (negated backward).
        let flowW = try t("conv1.2.weight", [h, 4, 4, 4]), flowB = try t("conv1.2.bias", [4])
        let maskW = try t("conv2.2.weight", [h, 1, 4, 4]), maskB = try t("conv2.2.bias", [1])
        var last = [Float](repeating: 0, count: 5 * c * 16), lastBias = [Float](repeating: 0, count: 5)
        for k in 0..<4 {
            let source = pass == .forward ? k : (k + 2) % 4
            for i in 0..<h { for q in 0..<16 { last[(k * c + i) * 16 + q] = flowW[(i * 4 + source) * 16 + q] * s } }
            lastBias[k] = flowB[source] * s
        }
        let sign: Float = pass == .forward ? 1 : -1
        for i in 0..<h { for q in 0..<16 { last[(4 * c + h + i) * 16 + q] = maskW[i * 16 + q] * sign } }
        lastBias[4] = maskB[0] * sign
        return g.add("\(name).head.2", deconvolution(outChannels: 5, weights: last, bias: lastBias), [x])
    }

    private static func conv(_ g: inout GraphBuilder, _ name: String, _ x: Int, outChannels: Int, weights: [Float], bias: [Float],
                             stride: Int, slopes: [Float]) -> Int {
        let op = Convolution(outChannels: outChannels, kernel: (3, 3), stride: (stride, stride), pad: (1, 1, 1, 1),
                             weights: weights, bias: bias, activation: nil)
        return g.add("\(name).prelu", PReLU(slopes: slopes), [g.add(name, op, [x])])
    }

    /// ConvTranspose2d(k=4, s=2, p=1): doubles each side.
    private static func deconvolution(outChannels: Int, weights: [Float], bias: [Float]) -> Convolution {
        Convolution(outChannels: outChannels, kernel: (4, 4), stride: (2, 2), pad: (1, 1, 1, 1), transposed: true,
                    weights: weights, bias: bias, activation: nil)
    }
}
