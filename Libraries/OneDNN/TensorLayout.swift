import CDNNL

/// A 4-D f32 tensor's memory layout as oneDNN describes it: plain NCHW, or whatever blocked
/// layout a primitive chose. Values of this type never expose the C descriptor.
public struct TensorLayout: Equatable, @unchecked Sendable, CustomStringConvertible {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// Plain row-major layout for any rank (NCHW for 4-D, `x` for 1-D).
    public static func plain(_ dims: [Int]) throws -> TensorLayout {
        try make(dims, tag: plainTag(rank: dims.count))
    }

    /// "Let the primitive choose" — only meaningful when creating primitives.
    public static func any(_ dims: [Int]) throws -> TensorLayout { try make(dims, tag: dnnl_format_tag_any) }

    /// The 16-channel blocked layout oneDNN's AVX-512 kernels prefer.
    public static func blocked16(_ dims: [Int]) throws -> TensorLayout { try make(dims, tag: dnnl_nChw16c) }

    /// The same dims in the given layout's tag family: used for per-channel parameters that must
    /// match their activation's layout (PReLU slopes).
    public static func like(_ other: TensorLayout, dims: [Int]) throws -> TensorLayout {
        other.isPlain ? try plain(dims) : try make(dims, tag: dnnl_nChw16c)
    }

    private static func make(_ dims: [Int], tag: dnnl_format_tag_t) throws -> TensorLayout {
        var desc = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), d, dnnl_f32, tag), "memory_desc_init \(dims)")
        return TensorLayout(raw: desc)
    }

    private static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 5: return dnnl_abcde
        default: return dnnl_abcd
        }
    }

    public var dims: [Int] {
        var r = raw
        return withUnsafeBytes(of: &r.dims) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(self.raw.ndims)).map(Int.init))
        }
    }

    /// Bytes a buffer in this layout needs, including channel padding of blocked layouts.
    public var byteCount: Int {
        var r = raw
        return dnnl_memory_desc_get_size(&r)
    }

    public var elementCount: Int { dims.reduce(1, *) }

    public var isPlain: Bool { (try? TensorLayout.plain(dims)) == self }

    public static func == (a: TensorLayout, b: TensorLayout) -> Bool {
        var x = a.raw, y = b.raw
        return dnnl_memory_desc_equal(&x, &y) != 0
    }

    public var description: String { isPlain ? "plain\(dims)" : "blocked\(dims)" }
}
