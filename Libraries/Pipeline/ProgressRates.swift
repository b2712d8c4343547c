import Core

/// Frames per second of each stage over the last `window` seconds of progress snapshots (not since
/// the start: a job speeds up once the models are loaded and slows down behind a busy stage), and
/// the time left that those rates give.
public struct ProgressRates: Sendable {
    struct Sample: Sendable {
        var time: Double
        var frames: [Stage: Int]
    }

    public let window: Double
    private(set) var samples: [Sample] = []

    public init(window: Double = 8) { self.window = window }

    /// Adds a snapshot taken at `time` (seconds on any clock that only goes forward).
    public mutating func observe(_ p: JobProgress, at time: Double) {
        samples.append(Sample(time: time, frames: Dictionary(p.stages.map { ($0.stage, $0.framesLive) }) { $1 }))
        // Keep one sample at or before the window's start, so the rate spans the whole window.
        while samples.count > 2, samples[1].time <= time - window { samples.removeFirst() }
    }

    /// Frames per second of the stage over the window; nil until two snapshots lie apart in time.
    public func fps(_ stage: Stage) -> Double? {
        guard let first = samples.first, let last = samples.last, last.time > first.time else { return nil }
        let frames = (last.frames[stage] ?? 0) - (first.frames[stage] ?? 0)
        return Double(max(frames, 0)) / (last.time - first.time)
    }

    /// Seconds until each stage is done (absent: not known yet). A stage ends no sooner than the
    /// stages before it, whose output it works on, so the slowest stage so far sets the time; a stage
    /// still waiting for its input is taken to keep pace with them.
    public func secondsLeft(_ p: JobProgress) -> [Stage: Double] {
        var out: [Stage: Double] = [:]
        var upstream = 0.0
        var upstreamBusy = false
        for s in p.stages {
            let remaining = max(p.expectedFrames(s.stage) - s.framesLive, 0)
            if remaining == 0 {
                out[s.stage] = 0
                continue
            }
            if let rate = fps(s.stage), rate > 0 {
                upstream = max(upstream, Double(remaining) / rate)
            } else if !upstreamBusy {
                break  // the first stage with work left is not moving: no estimate for it or after it
            }
            upstreamBusy = true
            out[s.stage] = upstream
        }
        return out
    }

    /// Seconds until the whole job is done: its last stage's.
    public func secondsLeft(job p: JobProgress) -> Double? {
        if p.state.isFinal { return 0 }
        guard let last = p.stages.last else { return nil }
        return secondsLeft(p)[last.stage]
    }
}
