import CDNNL

/// Which tensor of a primitive an argument binds.
public enum Argument: Sendable, Hashable {
    case src, src1, dst, weights, bias, scratchpad
    /// The i-th input of a sum or concat.
    case multipleSrc(Int)
    /// The weights (slopes) of the i-th post-op, for PReLU post-ops.
    case postOpWeights(Int)

    var code: Int32 {
        switch self {
        case .src: return 1  // DNNL_ARG_SRC
        case .src1: return 2  // DNNL_ARG_SRC_1
        case .dst: return 17  // DNNL_ARG_DST
        case .weights: return 33  // DNNL_ARG_WEIGHTS
        case .bias: return 41  // DNNL_ARG_BIAS
        case .scratchpad: return 80  // DNNL_ARG_SCRATCHPAD
        case .multipleSrc(let i): return 1024 + Int32(i)  // DNNL_ARG_MULTIPLE_SRC + i
        case .postOpWeights(let i): return reframe_dnnl_post_op_arg(Int32(i), 33)
        }
    }
}

/// A compiled oneDNN primitive plus what it chose: its implementation name and the layouts of
/// its tensors (queried, so callers can reorder into them once).
public final class Primitive: @unchecked Sendable {
    let raw: dnnl_primitive_t
    let engine: ComputeEngine
    public let implementation: String
    public let srcLayout: TensorLayout?
    public let weightsLayout: TensorLayout?
    public let dstLayout: TensorLayout
    /// Working memory the caller must pass as `.scratchpad` (user-managed: oneDNN's own global
    /// scratchpad is thread-local to the creating thread, which breaks when a primitive created on
    /// one thread runs on another, as Swift tasks do). Nil when none is needed.
    public let scratchpadLayout: TensorLayout?

    /// Takes ownership of `descriptor` (destroyed after the primitive is created).
    init(descriptor pd: dnnl_primitive_desc_t, engine: ComputeEngine, what: String, allowReference: Bool = false) throws {
        defer { dnnl_primitive_desc_destroy(pd) }
        var info: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
        implementation = info.map { String(cString: $0) } ?? "?"
        // The reference kernels are hundreds of times slower: better to fail and let the caller choose another path.
        if !allowReference && implementation.hasPrefix("ref") {
            throw OneDNNError.unimplemented("\(what) (only \(implementation))")
        }
        func layout(_ q: dnnl_query_t) -> TensorLayout? {
            guard let md = dnnl_primitive_desc_query_md(pd, q, 0), md.pointee.ndims > 0 else { return nil }
            return TensorLayout(raw: md.pointee)
        }
        srcLayout = layout(dnnl_query_src_md)
        weightsLayout = layout(dnnl_query_weights_md)
        guard let dst = layout(dnnl_query_dst_md) else { throw OneDNNError.unimplemented("\(what): no destination") }
        dstLayout = dst
        scratchpadLayout = layout(dnnl_query_scratchpad_md).flatMap { $0.byteCount > 0 ? $0 : nil }
        var p: dnnl_primitive_t?
        try check(dnnl_primitive_create(&p, pd), "primitive_create \(what)")
        raw = p!
        self.engine = engine
    }

    deinit { dnnl_primitive_destroy(raw) }

    /// Runs synchronously on the calling thread's OpenMP team.
    public func execute(_ arguments: [(Argument, Memory)]) throws {
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.0.code, memory: $0.1.raw) }
        try check(dnnl_primitive_execute(raw, engine.stream, Int32(args.count), &args), "primitive_execute \(implementation)")
    }
}

/// Builds a primitive-descriptor creation with optional attributes, cleaning up on every path.
func makeDescriptor(engine: ComputeEngine, postOps: [PostOp] = [], scratchpadUser: Bool = false,
                    _ create: (inout dnnl_primitive_desc_t?, const_dnnl_primitive_attr_t?) -> dnnl_status_t,
                    what: String) throws -> dnnl_primitive_desc_t {
    var attr: dnnl_primitive_attr_t?
    try check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
    defer { dnnl_primitive_attr_destroy(attr) }
    try check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "primitive_attr_set_scratchpad_mode")
    if !postOps.isEmpty {
        var ops: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&ops), "post_ops_create")
        defer { dnnl_post_ops_destroy(ops) }
        for op in postOps {
            switch op {
            case .activation(let a):
                try check(dnnl_post_ops_append_eltwise(ops, 1, a.algorithm, a.alpha, a.beta), "post_ops_append_eltwise")
            case .sum(let scale):
                try check(dnnl_post_ops_append_sum(ops, scale), "post_ops_append_sum")
            }
        }
        try check(dnnl_primitive_attr_set_post_ops(attr, ops), "primitive_attr_set_post_ops")
    }
    var pd: dnnl_primitive_desc_t?
    let status = create(&pd, attr)
    if status == dnnl_unimplemented { throw OneDNNError.unimplemented(what) }
    try check(status, what)
    return pd!
}
