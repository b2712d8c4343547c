#ifndef REFRAME_CMEMORY_HINTS_H
#define REFRAME_CMEMORY_HINTS_H

/// Cache hints Swift cannot express. Each compiles, inlined into the calling Swift module, to one
/// instruction of that module's target (NeuralKernels: AVX-512).

/// Sixteen floats: imports into Swift as SIMD16<Float>.
typedef float reframe_lanes16 __attribute__((ext_vector_type(16)));

/// Non-temporal store (`vmovntps`): writes a whole cache line without first reading it and
/// without evicting what the next layer needs. `p` must be 64-byte aligned.
static inline void reframe_stream_store16(float *p, reframe_lanes16 v) {
  __builtin_nontemporal_store(v, (reframe_lanes16 *)p);
}

/// Non-temporal stores are weakly ordered: fence them before another thread may read the data.
static inline void reframe_stream_fence(void) { __builtin_ia32_sfence(); }

/// Software prefetch into all cache levels, for access patterns the hardware prefetcher misses.
static inline void reframe_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
