import Foundation
import Pipeline

/// The live progress display on stderr: a bar per stage redrawn in place on a terminal, or a plain
/// line every few seconds when stderr is a log or a CI console (no cursor movement there).
final class ProgressBar: @unchecked Sendable {
    enum Mode: Equatable {
        case off
        case terminal
        case plain(every: Double)
    }

    private let mode: Mode
    private let started = Date()
    private let lock = NSLock()
    private var rates = ProgressRates()
    private var drawnLines = 0
    private var lastPlain: (time: Double, line: String)?

    init(mode: Mode) { self.mode = mode }

    /// Bars on a terminal, plain lines every `every` seconds elsewhere, nothing when quiet.
    convenience init(quiet: Bool, plainEvery every: Double) {
        self.init(mode: quiet ? .off : isatty(STDERR_FILENO) == 1 ? .terminal : .plain(every: every))
    }

    func update(_ p: JobProgress) {
        guard mode != .off else { return }
        let now = Date().timeIntervalSince(started)
        lock.lock()
        defer { lock.unlock() }
        rates.observe(p, at: now)
        switch mode {
        case .off:
            return
        case .terminal:
            let lines = ProgressLines.terminal(p, rates: rates)
            // Back to the first line drawn last time, clear to the end, draw again.
            let up = drawnLines > 0 ? "\u{1B}[\(drawnLines)A\r\u{1B}[J" : ""
            write(up + lines.joined(separator: "\n") + "\n")
            drawnLines = lines.count
        case .plain(let every):
            let line = ProgressLines.plain(p, rates: rates)
            if let last = lastPlain, now - last.time < every && !p.state.isFinal { return }
            if lastPlain?.line == line { return }
            write("progress: " + line + "\n")
            lastPlain = (now, line)
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
