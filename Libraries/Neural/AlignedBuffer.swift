/// A 64-byte aligned heap buffer that frees itself: weights in the primitives' layouts, and the arena.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
    }

    deinit { pointer.deallocate() }
}
