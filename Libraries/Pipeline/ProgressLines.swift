import Core
import Foundation

/// The live progress display of `reframe process`, `watch` and `submit --watch`, as text: a
/// function of a snapshot and the rates seen so far, so it is tested without a terminal.
public enum ProgressLines {
    /// A header and one bar per stage the job has, for a terminal that redraws them in place.
    public static func terminal(_ p: JobProgress, rates: ProgressRates, barWidth: Int = 20) -> [String] {
        guard !p.stages.isEmpty else { return ["\(p.state.rawValue): waiting for the plan"] }
        let left = rates.secondsLeft(p)
        let header = "\(p.state.rawValue)  \(percent(p))  ETA \(eta(rates.secondsLeft(job: p)))"
        let totals = p.stages.map { String(p.expectedFrames($0.stage)) }
        let digits = totals.map(\.count).max() ?? 1
        return [header] + p.stages.map { s in
            let total = p.expectedFrames(s.stage)
            let frames = min(s.framesLive, total)
            let done = frames >= total && total > 0
            let name = s.stage.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            let count = pad(String(frames), digits) + "/" + pad(String(total), digits)
            // A finished stage shows no rate: over the window it would only fall towards zero.
            let rate = done ? String(repeating: " ", count: 9) : fps(rates.fps(s.stage))
            return "  \(name) [\(bar(Double(frames) / Double(max(total, 1)), width: barWidth))] \(count) frames  \(rate)  "
                + (done ? "done" : "ETA \(eta(left[s.stage]))")
        }
    }

    /// One line for logs and CI, where stderr is not a terminal.
    public static func plain(_ p: JobProgress, rates: ProgressRates) -> String {
        guard !p.stages.isEmpty else { return "\(p.state.rawValue): waiting for the plan" }
        let stages = p.stages.map { s in
            let total = p.expectedFrames(s.stage)
            var text = "\(s.stage.rawValue) \(min(s.framesLive, total))/\(total)"
            if let rate = rates.fps(s.stage), s.framesLive < total { text += String(format: " %.1f fps", rate) }
            return text
        }
        return ([p.state.rawValue + " " + percent(p)] + stages + ["ETA \(eta(rates.secondsLeft(job: p)))"]).joined(separator: " | ")
    }

    /// Fraction done counting frames in progress, each stage weighted equally.
    static func percent(_ p: JobProgress) -> String {
        if p.state == .done { return "100%" }
        let parts = p.stages.map { min(1, Double($0.framesLive) / Double(max(p.expectedFrames($0.stage), 1))) }
        let fraction = parts.isEmpty ? 0 : min(0.999, parts.reduce(0, +) / Double(parts.count))
        return String(format: "%.0f%%", (fraction * 100).rounded(.down))
    }

    static func bar(_ fraction: Double, width: Int) -> String {
        let filled = min(width, Int(max(0, min(1, fraction)) * Double(width)))
        let head = filled < width && fraction > 0 ? ">" : ""
        return String(repeating: "=", count: filled) + head + String(repeating: " ", count: width - filled - head.count)
    }

    static func fps(_ rate: Double?) -> String {
        guard let rate else { return "    - fps" }
        return String(format: "%5.1f fps", rate)
    }

    /// `m:ss`, or `h:mm:ss` from an hour on; `--:--` when not known.
    public static func eta(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded(.up))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private static func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
}
