#ifndef REFRAME_CDNNL_H
#define REFRAME_CDNNL_H
#include <oneapi/dnnl/dnnl.h>

/// Debian's oneDNN uses the OpenMP runtime, whose thread count is a per-calling-thread setting.
/// Declared here rather than through <omp.h> so no compiler OpenMP flag is needed.
void omp_set_num_threads(int count);
int omp_get_max_threads(void);

/// DNNL_ARG_ATTR_MULTIPLE_POST_OP is a function-like macro that Swift cannot import.
static inline int reframe_dnnl_post_op_arg(int index, int arg) {
  return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | arg;
}
/// DNNL_MEMORY_NONE / DNNL_MEMORY_ALLOCATE are pointer macros.
static inline void *reframe_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }
#endif
