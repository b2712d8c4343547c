import CDNNL

/// An elementwise function oneDNN can apply alone or fused after a convolution.
public struct Activation: Sendable, Equatable {
    enum Kind: Sendable { case relu, logistic, linear, clip }
    let kind: Kind
    let alpha: Float
    let beta: Float

    /// max(x, 0) + slope · min(x, 0): ReLU for slope 0, leaky ReLU otherwise.
    public static func relu(slope: Float = 0) -> Activation { Activation(kind: .relu, alpha: slope, beta: 0) }
    public static var sigmoid: Activation { Activation(kind: .logistic, alpha: 0, beta: 0) }
    /// alpha · x + beta.
    public static func linear(scale: Float, shift: Float) -> Activation { Activation(kind: .linear, alpha: scale, beta: shift) }
    public static func clip(min: Float, max: Float) -> Activation { Activation(kind: .clip, alpha: min, beta: max) }

    public var isPlainReLU: Bool { kind == .relu && alpha == 0 }

    var algorithm: dnnl_alg_kind_t {
        switch kind {
        case .relu: return dnnl_eltwise_relu
        case .logistic: return dnnl_eltwise_logistic
        case .linear: return dnnl_eltwise_linear
        case .clip: return dnnl_eltwise_clip
        }
    }
}

public enum PostOp: Sendable, Equatable {
    case activation(Activation)
    /// dst = conv(src) + scale · dst (accumulate onto what the destination holds).
    case sum(scale: Float)
}

public enum ConvolutionAlgorithm: Sendable {
    /// Winograd F(4×4, 3×3): about twice the effective throughput for 3×3 stride-1 layers.
    case winograd
    case direct
}

public enum BinaryKind: Sendable {
    case add, sub, mul, div, max, min
    var algorithm: dnnl_alg_kind_t {
        switch self {
        case .add: return dnnl_binary_add
        case .sub: return dnnl_binary_sub
        case .mul: return dnnl_binary_mul
        case .div: return dnnl_binary_div
        case .max: return dnnl_binary_max
        case .min: return dnnl_binary_min
        }
    }
}

/// Geometry of a (de)convolution in oneDNN's terms; dilation counts the gaps (0 = dense).
public struct ConvolutionGeometry: Sendable, Hashable {
    public var strides: [Int]
    public var dilations: [Int]
    public var padBegin: [Int]
    public var padEnd: [Int]

    public init(strides: [Int], dilations: [Int], padBegin: [Int], padEnd: [Int]) {
        self.strides = strides
        self.dilations = dilations
        self.padBegin = padBegin
        self.padEnd = padEnd
    }
}


extension ComputeEngine {
    /// A convolution or deconvolution whose weights layout is chosen by oneDNN, and the destination
    /// layout too unless `dst` fixes it (pass an `any` layout as `src` to let it choose that as well).
    /// Query the primitive's layouts to feed it.
    public func convolution(deconvolution: Bool = false, algorithm: ConvolutionAlgorithm, src: TensorLayout,
                            weightsDims: [Int], hasBias: Bool, dstDims: [Int], dst: TensorLayout? = nil,
                            geometry g: ConvolutionGeometry, postOps: [PostOp]) throws -> Primitive {
        var srcMd = src.raw
        var weiMd = try TensorLayout.any(weightsDims).raw
        var biaMd = try TensorLayout.plain([dstDims[1]]).raw
        var dstMd = try (dst ?? TensorLayout.any(dstDims)).raw
        let strides = g.strides.map(Int64.init), dil = g.dilations.map(Int64.init)
        let pl = g.padBegin.map(Int64.init), pr = g.padEnd.map(Int64.init)
        let what = "\(deconvolution ? "deconvolution" : "convolution") \(algorithm) \(weightsDims) → \(dstDims) post-ops \(postOps)"
        let pd: dnnl_primitive_desc_t
        if deconvolution {
            var desc = dnnl_deconvolution_desc_t()
            try check(withUnsafePointer(to: &biaMd) { bias in
                dnnl_dilated_deconvolution_forward_desc_init(
                    &desc, dnnl_forward_inference, dnnl_deconvolution_direct, &srcMd, &weiMd, hasBias ? bias : nil, &dstMd,
                    strides, dil, pl, pr)
            }, what)
            pd = try makeDescriptor(engine: self, postOps: postOps, { dnnl_primitive_desc_create(&$0, &desc, $1, engine, nil) }, what: what)
        } else {
            var desc = dnnl_convolution_desc_t()
            let alg = algorithm == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct
            try check(withUnsafePointer(to: &biaMd) { bias in
                dnnl_dilated_convolution_forward_desc_init(
                    &desc, dnnl_forward_inference, alg, &srcMd, &weiMd, hasBias ? bias : nil, &dstMd,
                    strides, dil, pl, pr)
            }, what)
            pd = try makeDescriptor(engine: self, postOps: postOps, { dnnl_primitive_desc_create(&$0, &desc, $1, engine, nil) }, what: what)
        }
        return try Primitive(descriptor: pd, engine: self, what: what)
    }

    /// Copies between layouts (plain ↔ blocked).
    public func reorder(from: TensorLayout, to: TensorLayout) throws -> Primitive {
        var a = from.raw, b = to.raw
        let what = "reorder \(from) → \(to)"
        let pd = try makeDescriptor(engine: self, { dnnl_reorder_primitive_desc_create(&$0, &a, engine, &b, engine, $1) }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what, allowReference: true)
    }

    /// An elementwise function; safe to run in place (src and dst the same memory).
    public func eltwise(_ activation: Activation, layout: TensorLayout) throws -> Primitive {
        var md = layout.raw
        var desc = dnnl_eltwise_desc_t()
        let what = "eltwise \(activation) on \(layout)"
        try check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, activation.algorithm, &md, activation.alpha, activation.beta), what)
        let pd = try makeDescriptor(engine: self, { dnnl_primitive_desc_create(&$0, &desc, $1, engine, nil) }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what)
    }

    /// Per-channel PReLU; `slopes` must be 1×C×1×1 in the activation's layout family for the fast kernel.
    public func prelu(layout: TensorLayout, slopes: TensorLayout) throws -> Primitive {
        var md = layout.raw, w = slopes.raw
        var desc = dnnl_prelu_desc_t()
        let what = "prelu on \(layout)"
        try check(dnnl_prelu_forward_desc_init(&desc, dnnl_forward_inference, &md, &w), what)
        let pd = try makeDescriptor(engine: self, { dnnl_primitive_desc_create(&$0, &desc, $1, engine, nil) }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what)
    }

    /// dst = a ∘ b elementwise, optionally followed by fused post-ops; dst takes a's layout.
    public func binary(_ kind: BinaryKind, a: TensorLayout, b: TensorLayout, postOps: [PostOp] = []) throws -> Primitive {
        var x = a.raw, y = b.raw, z = a.raw
        var desc = dnnl_binary_desc_t()
        let what = "binary \(kind) \(a) \(b)"
        try check(dnnl_binary_desc_init(&desc, kind.algorithm, &x, &y, &z), what)
        let pd = try makeDescriptor(engine: self, postOps: postOps, { dnnl_primitive_desc_create(&$0, &desc, $1, engine, nil) }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what, allowReference: true)
    }

    /// dst = Σ scaleᵢ · srcᵢ, written in `dst`'s layout.
    public func sum(scales: [Float], sources: [TensorLayout], dst: TensorLayout) throws -> Primitive {
        var mds = sources.map(\.raw)
        var out = dst.raw
        let what = "sum of \(sources.count)"
        let pd = try makeDescriptor(engine: self, { pd, attr in
            scales.withUnsafeBufferPointer { s in
                dnnl_sum_primitive_desc_create(&pd, &out, Int32(mds.count), s.baseAddress, &mds, attr, engine)
            }
        }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what, allowReference: true)
    }

    /// Joins sources along `axis` into `dst`'s layout.
    public func concat(axis: Int, sources: [TensorLayout], dst: TensorLayout) throws -> Primitive {
        var mds = sources.map(\.raw)
        var out = dst.raw
        let what = "concat of \(sources.count) on axis \(axis)"
        let pd = try makeDescriptor(engine: self, { dnnl_concat_primitive_desc_create(&$0, &out, Int32(mds.count), Int32(axis), &mds, $1, engine) }, what: what)
        return try Primitive(descriptor: pd, engine: self, what: what, allowReference: true)
    }
}
