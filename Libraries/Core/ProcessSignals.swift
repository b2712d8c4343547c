#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ProcessSignals {
    /// hiredis writes to its socket with write(2): once Redis has gone away, writing a large command
    /// raises SIGPIPE, whose default action ends the process without a log line. Ignored, the write
    /// fails with EPIPE and the loss is handled (logged, reconnected, retried) like any other.
    /// Every service and the `reframe` tool call this first; the Redis wrapper calls it too.
    public static func ignoreBrokenPipe() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
