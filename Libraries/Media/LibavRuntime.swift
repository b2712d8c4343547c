import CFFmpeg
import Foundation

/// Process-wide settings libav needs before its first use; every entry point into libav reads
/// `configured` so they are in place whichever entry comes first.
enum LibavRuntime {
    static let configured: Void = {
        // Errors come back as thrown errors; the console stays quiet.
        av_log_set_level(AV_LOG_ERROR)
        // Encoders read parts of their own buffers before writing them (libx264's lossy analysis
        // does; its pictures do not depend on it, its decisions do). In a long-lived process those
        // buffers come from a heap full of old frames, so two runs of one job encoded a chunk or two
        // a few levels apart (5 outputs of 6 parallel runs differed). Every allocation must start
        // out the same, as in a short-lived ffmpeg process: a fixed mmap threshold keeps those of
        // 128 KiB or more on fresh zero-filled pages (glibc's dynamic threshold soon serves them
        // from the heap), and the heap zero-fills the smaller ones (a 176×144 job's chroma and
        // look-ahead planes differed until it did). Cost: within the noise of a job's wall time.
        _ = reframe_fix_mmap_threshold(128 << 10)
        _ = reframe_zero_fill_allocations()
    }()
}
