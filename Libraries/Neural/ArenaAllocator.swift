/// Plans offsets inside one arena: tensors whose lifetimes do not overlap share bytes.
/// Runs at plan time only; execution just adds offsets to the arena's base.
struct ArenaAllocator {
    static let alignment = 64
    private var free: [(offset: Int, size: Int)] = []
    private var sizes: [Int: Int] = [:]
    private(set) var highWater = 0

    mutating func allocate(_ bytes: Int) -> Int {
        let size = max(Self.alignment, (bytes + Self.alignment - 1) / Self.alignment * Self.alignment)
        // Best fit among freed blocks keeps the arena small.
        if let i = free.indices.filter({ free[$0].size >= size }).min(by: { free[$0].size < free[$1].size }) {
            let block = free.remove(at: i)
            if block.size > size { free.append((block.offset + size, block.size - size)) }
            sizes[block.offset] = size
            return block.offset
        }
        // Grow: extend a free block that ends at the high-water mark, or append.
        if let i = free.firstIndex(where: { $0.offset + $0.size == highWater }) {
            let block = free.remove(at: i)
            highWater = block.offset + size
            sizes[block.offset] = size
            return block.offset
        }
        let offset = highWater
        highWater += size
        sizes[offset] = size
        return offset
    }

    mutating func release(_ offset: Int) {
        guard let size = sizes.removeValue(forKey: offset) else { return }
        free.append((offset, size))
        free.sort { $0.offset < $1.offset }
        // Coalesce neighbours so large tensors can reuse several small freed ones.
        var merged: [(offset: Int, size: Int)] = []
        for block in free {
            if let last = merged.last, last.offset + last.size == block.offset {
                merged[merged.count - 1].size += block.size
            } else {
                merged.append(block)
            }
        }
        free = merged
    }
}
