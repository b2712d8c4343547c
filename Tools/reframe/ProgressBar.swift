import Foundation
import Pipeline

/// A one-line progress display on stderr: bar, frames encoded, frames per second, ETA.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let started = Date()
    private let lock = NSLock()
    private var lastLine = ""

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: JobProgress) {
        guard enabled else { return }
        let line = Self.render(p, elapsed: Date().timeIntervalSince(started))
        lock.lock()
        defer { lock.unlock() }
        guard line != lastLine else { return }
        lastLine = line
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    static func render(_ p: JobProgress, elapsed: Double) -> String {
        let width = 30
        let fraction = p.fraction
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let encoded = p.stages.first { $0.stage == .encode }?.framesDone ?? 0
        let fps = elapsed > 0 ? Double(encoded) / elapsed : 0
        let eta = fraction > 0.01 ? elapsed * (1 - fraction) / fraction : 0
        return String(format: "[%@] %3.0f%%  frames %d/%d  %.1f fps  ETA %@", bar, fraction * 100, encoded, p.expectedOutputFrames, fps,
                      fraction > 0.01 ? clock(eta) : "--:--")
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
