import CDNNL

/// A oneDNN memory object over a buffer the caller owns (the executor's arena), so one
/// allocation serves many layers and tiles. The handle can be re-pointed cheaply.
public final class Memory: @unchecked Sendable {
    let raw: dnnl_memory_t
    public let layout: TensorLayout

    public init(layout: TensorLayout, engine: ComputeEngine, handle: UnsafeMutableRawPointer? = nil) throws {
        var m: dnnl_memory_t?
        var desc = layout.raw
        try check(dnnl_memory_create(&m, &desc, engine.engine, handle ?? reframe_dnnl_memory_none()), "memory_create")
        raw = m!
        self.layout = layout
    }

    deinit { dnnl_memory_destroy(raw) }

    public func setHandle(_ pointer: UnsafeMutableRawPointer) throws {
        try check(dnnl_memory_set_data_handle(raw, pointer), "memory_set_data_handle")
    }

    public var handle: UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(raw, &p)
        return p
    }
}
