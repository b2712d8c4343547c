/// Measures of decoded audio that tell a tone survived a stage: its pitch and its level.
public enum AudioMeasure {
    /// Frequency (Hz) of the tone in `samples`, from its rising zero crossings (placed between samples
    /// by linear interpolation, with hysteresis so noise near zero does not count twice): crossings − 1
    /// periods between the first and the last. Nil when fewer than two crossings.
    public static func toneFrequency(_ samples: ArraySlice<Float>, sampleRate: Int, hysteresis: Float = 0.02) -> Double? {
        var armed = false
        var first: Double?, last = 0.0
        var count = 0
        var previous: Float = 0
        for (i, x) in zip(samples.indices, samples) {
            if x < -hysteresis { armed = true }
            if armed && x >= 0 && i > samples.startIndex {
                let t = Double(i - 1) + Double(-previous / (x - previous))
                if first == nil { first = t }
                last = t
                count += 1
                armed = false
            }
            previous = x
        }
        guard let first, count >= 2, last > first else { return nil }
        return Double(count - 1) / (last - first) * Double(sampleRate)
    }

    /// Root mean square of `samples`.
    public static func rms(_ samples: ArraySlice<Float>) -> Double {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }
}
