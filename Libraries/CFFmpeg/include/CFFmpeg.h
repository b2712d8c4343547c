#ifndef REFRAME_CFFMPEG_H
#define REFRAME_CFFMPEG_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <malloc.h>

// Macros Swift cannot import.
/// Serves every allocation of `bytes` or more from fresh zero-filled pages (see LibavRuntime).
static inline int reframe_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
/// Fills every smaller heap allocation with zeros when it is made (glibc's M_PERTURB: the
/// complement of 0xff), so nothing read before it is written depends on what was freed there.
static inline int reframe_zero_fill_allocations(void) { return mallopt(M_PERTURB, 0xff); }
static inline int reframe_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int reframe_averror_eof(void) { return AVERROR_EOF; }
static inline int reframe_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int reframe_averror_einval(void) { return AVERROR(EINVAL); }
static inline int64_t reframe_av_nopts(void) { return AV_NOPTS_VALUE; }
static inline int reframe_av_strerror(int err, char *buf, size_t len) { return av_strerror(err, buf, len); }
static inline AVRational reframe_av_time_base_q(void) { return AV_TIME_BASE_Q; }
#endif
