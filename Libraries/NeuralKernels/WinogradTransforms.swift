/// Winograd F(6×6, 3×3) transforms (Lavin & Gray's construction, interpolation points 0, ±1, ±2,
/// ±½, ∞), written out with shared subexpressions: 8×8 input tiles map to 64 independent products
/// per channel pair, 5.06× fewer multiplies than a direct 3×3 convolution (F(4,3): 4×).
/// Every value is 16 channels wide.
enum WinogradF63 {
    /// Bᵀ·d for one 8-element line of input (rows of Bᵀ, top to bottom).
    @inline(__always)
    static func input(_ d0: Lanes, _ d1: Lanes, _ d2: Lanes, _ d3: Lanes, _ d4: Lanes, _ d5: Lanes, _ d6: Lanes, _ d7: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let t0 = (d0 - d6) + (d4 - d2) * 5.25
        let t7 = (d7 - d1) + (d3 - d5) * 5.25
        let a12 = (d2 + d6) - d4 * 4.25, b12 = (d1 + d5) - d3 * 4.25
        let a34 = (d6 + d2 * 0.25) - d4 * 1.25, b34 = (d1 * 0.5 - d3 * 2.5) + d5 * 2
        let a56 = d6 + (d2 - d4 * 1.25) * 4, b56 = (d1 * 2 - d3 * 2.5) + d5 * 0.5
        return (t0, a12 + b12, a12 - b12, a34 + b34, a34 - b34, a56 + b56, a56 - b56, t7)
    }

    /// Aᵀ·m: six outputs from one 8-element line of products.
    @inline(__always)
    static func output(_ m0: Lanes, _ m1: Lanes, _ m2: Lanes, _ m3: Lanes, _ m4: Lanes, _ m5: Lanes, _ m6: Lanes, _ m7: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4, s56 = m5 + m6, d56 = m5 - m6
        return (m0 + s12 + s34 + s56,
                d12 + d34 * 2 + d56 * 0.5,
                s12 + s34 * 4 + s56 * 0.25,
                d12 + d34 * 8 + d56 * 0.125,
                s12 + s34 * 16 + s56 * 0.0625,
                d12 + d34 * 32 + d56 * 0.03125 + m7)
    }

    /// G (8×3): kernel to transformed kernel, U = G·g·Gᵀ. Computed in double at plan time.
    static let g: [[Double]] = [
        [1, 0, 0],
        [-2.0 / 9, -2.0 / 9, -2.0 / 9],
        [-2.0 / 9, 2.0 / 9, -2.0 / 9],
        [1.0 / 90, 1.0 / 45, 2.0 / 45],
        [1.0 / 90, -1.0 / 45, 2.0 / 45],
        [32.0 / 45, 16.0 / 45, 8.0 / 45],
        [32.0 / 45, -16.0 / 45, 8.0 / 45],
        [0, 0, 1],
    ]

    /// The 8×8 transformed kernel of one 3×3 kernel, row-major (vertical frequency first).
    static func kernel(_ k: UnsafePointer<Float>) -> [Double] {
        var gk = [Double](repeating: 0, count: 24)  // G·g: 8×3
        for i in 0..<8 { for x in 0..<3 { gk[i * 3 + x] = (0..<3).reduce(0) { $0 + g[i][$1] * Double(k[$1 * 3 + x]) } } }
        var u = [Double](repeating: 0, count: 64)
        for i in 0..<8 { for j in 0..<8 { u[i * 8 + j] = (0..<3).reduce(0) { $0 + gk[i * 3 + $1] * g[j][$1] } } }
        return u
    }
}
