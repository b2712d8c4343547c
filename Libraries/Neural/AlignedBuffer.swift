#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte aligned heap buffer that frees itself: weights in the primitives' layouts, and the arena.
/// Large buffers are aligned to 2 MiB and offered to the kernel as huge-page candidates: a frame's
/// activations span hundreds of MiB, and with 4 KiB pages the convolutions stall on TLB misses.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    private static let hugePage = 2 << 20

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        let large = self.byteCount >= Self.hugePage
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: large ? Self.hugePage : 64)
        #if canImport(Glibc)
        // Advisory only: where transparent huge pages are off, this fails harmlessly.
        if large { _ = madvise(pointer, self.byteCount, MADV_HUGEPAGE) }
        #endif
    }

    deinit { pointer.deallocate() }
}
