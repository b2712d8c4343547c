/// How RIFE runs a frame pair within a memory budget: whole when the padded frame fits, otherwise
/// in a grid of overlapping tiles. Each tile reads `halo` pixels of context past its core on every
/// inner side (the warps pull pixels from up to the largest motion away), and neighbouring tiles
/// cross-fade over the middle of their overlap, so no tile's unreliable outer edge is ever used.
public struct RIFETiling: Sendable, Equatable {
    public struct Tile: Sendable, Equatable {
        /// The part of the output this tile owns (before cross-fading), in frame pixels.
        public var core: (x: Range<Int>, y: Range<Int>)
        /// What the network sees: the core plus the halo, clipped to the frame.
        public var region: (x: Range<Int>, y: Range<Int>)

        public static func == (a: Tile, b: Tile) -> Bool { a.core == b.core && a.region == b.region }
    }

    public var tiles: [Tile]
    public var halo: Int

    /// Tiles for a frame: as few as fit `maxPaddedArea` (network pixels after padding to
    /// `alignment`), near-equal so a frame needs at most four plan shapes. Nil when even the
    /// smallest tile (a core of one alignment step plus its halo) does not fit.
    public static func plan(width: Int, height: Int, alignment: Int, halo: Int, maxPaddedArea: Int) -> RIFETiling? {
        func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        if padded(width) * padded(height) <= maxPaddedArea {
            return RIFETiling(tiles: [Tile(core: (0..<width, 0..<height), region: (0..<width, 0..<height))], halo: 0)
        }
        // The largest tile of a cols × rows grid: a core of ⌈size/n⌉ plus a halo on each inner side.
        func tileArea(_ cols: Int, _ rows: Int) -> Int {
            let tw = (width + cols - 1) / cols + (cols > 1 ? 2 * halo : 0), th = (height + rows - 1) / rows + (rows > 1 ? 2 * halo : 0)
            return padded(min(tw, width)) * padded(min(th, height))
        }
        let maxCols = max(1, width / alignment), maxRows = max(1, height / alignment)
        var best: (cols: Int, rows: Int)?
        if maxCols * maxRows >= 2 {
            for count in 2...(maxCols * maxRows) {
                let fits = (1...min(count, maxCols)).compactMap { cols -> (cols: Int, rows: Int, area: Int)? in
                    guard count % cols == 0, count / cols <= maxRows else { return nil }
                    let area = tileArea(cols, count / cols)
                    return area <= maxPaddedArea ? (cols, count / cols, area) : nil
                }
                if let f = fits.min(by: { $0.area < $1.area }) { best = (f.cols, f.rows); break }
            }
        }
        guard let (cols, rows) = best else { return nil }
        var tiles: [Tile] = []
        for r in 0..<rows {
            let y0 = r * height / rows, y1 = (r + 1) * height / rows
            for c in 0..<cols {
                let x0 = c * width / cols, x1 = (c + 1) * width / cols
                tiles.append(Tile(core: (x0..<x1, y0..<y1),
                                  region: (max(0, x0 - halo)..<min(width, x1 + halo), max(0, y0 - halo)..<min(height, y1 + halo))))
            }
        }
        return RIFETiling(tiles: tiles, halo: halo)
    }

    /// Cross-fade weight of a tile's pixel along one axis at index `i` of its region: 1 inside, 0
    /// near the region's inner edges, and a linear ramp of width halo/2 centred on the core's edge,
    /// which the neighbour's ramp mirrors so overlapping weights sum to 1. Frame borders have no
    /// neighbour: weight 1.
    public static func weight(_ i: Int, region: Range<Int>, extent: Int, halo: Int) -> Float {
        guard halo > 1 else { return 1 }
        let ramp = Float(halo) / 2
        func rising(_ distance: Float) -> Float { max(0, min(1, (distance - Float(halo)) / ramp + 0.5)) }
        var w: Float = 1
        if region.lowerBound > 0 { w = min(w, rising(Float(i - region.lowerBound) + 0.5)) }
        if region.upperBound < extent { w = min(w, rising(Float(region.upperBound - i) - 0.5)) }
        return w
    }
}
