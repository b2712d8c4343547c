import CDNNL

/// One CPU engine plus its in-order stream. Primitives built on it execute synchronously on
/// the calling thread (with oneDNN's own OpenMP workers), so one engine serves one executor.
public final class ComputeEngine: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    public init() throws {
        var e: dnnl_engine_t?
        try check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        var s: dnnl_stream_t?
        do {
            try check(dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue), "stream_create")
        } catch {
            dnnl_engine_destroy(e)
            throw error
        }
        engine = e!
        stream = s!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// Sets how many threads oneDNN uses for primitives executed from the calling thread.
    /// OpenMP keeps this per thread, so call it on the thread that runs the primitives.
    public static func setThreadCount(_ count: Int) {
        omp_set_num_threads(Int32(max(1, count)))
    }

    public static var threadCount: Int { Int(omp_get_max_threads()) }

    public func wait() throws { try check(dnnl_stream_wait(stream), "stream_wait") }
}

extension ComputeEngine {
    /// Whether this CPU runs AVX-512 (F, CD, BW, DQ, VL) code: oneDNN's own dispatch decision,
    /// which also honours `ONEDNN_MAX_CPU_ISA`.
    public static var hasAVX512: Bool {
        let core = dnnl_cpu_isa_avx512_core.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & core == core
    }
}
