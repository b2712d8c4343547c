/// An exact rational number, used for time bases and frame rates so timestamps never drift.
public struct Rational: Codable, Hashable, Sendable, CustomStringConvertible {
    public var num: Int64
    public var den: Int64

    /// Creates a reduced rational with a positive denominator.
    public init(_ num: Int64, _ den: Int64) {
        precondition(den != 0, "rational with zero denominator")
        let g = Rational.gcd(abs(num), abs(den))
        let sign: Int64 = den < 0 ? -1 : 1
        self.num = sign * num / max(g, 1)
        self.den = sign * den / max(g, 1)
    }

    public var double: Double { Double(num) / Double(den) }
    public var inverse: Rational { Rational(den, num) }
    public var description: String { "\(num)/\(den)" }

    public static func * (a: Rational, b: Rational) -> Rational {
        let g1 = gcd(abs(a.num), abs(b.den)), g2 = gcd(abs(b.num), abs(a.den))
        return Rational((a.num / max(g1, 1)) * (b.num / max(g2, 1)), (a.den / max(g2, 1)) * (b.den / max(g1, 1)))
    }

    public static func / (a: Rational, b: Rational) -> Rational { a * b.inverse }

    /// Closest rational with a bounded denominator; NTSC-style rates (23.976, 29.97, 59.94) map to N·1000/1001.
    public static func approximating(_ value: Double, maxDenominator: Int64 = 1001) -> Rational {
        let ntsc = value * 1.001
        if abs(value - value.rounded()) > 1e-3, abs(ntsc - ntsc.rounded()) < 5e-3 {
            return Rational(Int64(ntsc.rounded()) * 1000, 1001)
        }
        var best = Rational(Int64(value.rounded()), 1)
        var bestError = abs(best.double - value)
        for den in 1...maxDenominator {
            let num = Int64((value * Double(den)).rounded())
            let error = abs(Double(num) / Double(den) - value)
            if error < bestError - 1e-12 { best = Rational(num, den); bestError = error }
        }
        return best
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}

/// Rescales `value` from one time base to another, rounding to nearest (ties away from zero),
/// with 128-bit intermediates so large pts values cannot overflow.
public func rescale(_ value: Int64, from: Rational, to: Rational) -> Int64 {
    // value * from.num * to.den / (from.den * to.num)
    let numerator = Int128(value) * Int128(from.num) * Int128(to.den)
    let denominator = Int128(from.den) * Int128(to.num)
    let half = denominator / 2
    return Int64(numerator >= 0 ? (numerator + half) / denominator : (numerator - half) / denominator)
}
