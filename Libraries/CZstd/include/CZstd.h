#ifndef REFRAME_CZSTD_H
#define REFRAME_CZSTD_H
#include <zstd.h>
/// ZSTD_CONTENTSIZE_* are macros that Swift cannot import.
static inline int reframe_zstd_size_known(unsigned long long size) {
  return size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR;
}
#endif
