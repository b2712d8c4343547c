import CFFmpeg
import Foundation

/// Process-wide settings libav needs before its first use; every entry point into libav reads
/// `configured` so they are in place whichever entry comes first.
enum LibavRuntime {
    static let configured: Void = {
        // Errors come back as thrown errors; the console stays quiet.
        av_log_set_level(AV_LOG_ERROR)
        // Encoders read parts of their own large buffers before writing them (libx264's lossy
        // analysis does; its pictures do not depend on it, its decisions do). glibc's dynamic mmap
        // threshold soon serves such buffers from a heap full of old frames, so two runs of one job
        // in a busy process encoded a chunk or two a few levels apart (5 outputs of 6 parallel runs
        // differed). A fixed threshold keeps every allocation of 128 KiB or more on fresh,
        // zero-filled pages, as in a short-lived ffmpeg process: output is repeatable, for about
        // 7% more system time (page faults) and no measurable wall time.
        _ = reframe_fix_mmap_threshold(128 << 10)
    }()
}
