#ifndef REFRAME_CSTREAMING_STORE_H
#define REFRAME_CSTREAMING_STORE_H

/// Swift has no non-temporal store. Clang's builtin marks the store `!nontemporal`, and the
/// Swift module that inlines this compiles it to `vmovntps`: a full cache line written without
/// first reading it, and without evicting what the next layer needs from the caches.
/// The vector type imports into Swift as SIMD16<Float>. `p` must be 64-byte aligned.
typedef float reframe_lanes16 __attribute__((ext_vector_type(16)));

static inline void reframe_stream_store16(float *p, reframe_lanes16 v) {
  __builtin_nontemporal_store(v, (reframe_lanes16 *)p);
}

/// Non-temporal stores are weakly ordered: fence them before another thread may read the data.
static inline void reframe_stream_fence(void) { __builtin_ia32_sfence(); }

#endif
