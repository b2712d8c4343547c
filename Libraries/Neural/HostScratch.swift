/// Working memory shared by a plan's host kernels: they run one at a time, so one buffer sized for
/// the largest serves all. Planning only records the need; the buffer is made on first use.
final class HostScratch: @unchecked Sendable {
    private(set) var bytes = 0
    private var buffer: AlignedBuffer?

    func reserve(_ byteCount: Int) { bytes = max(bytes, byteCount) }

    /// Called from plan steps, which the executor serialises.
    var pointer: UnsafeMutableRawPointer {
        if buffer == nil || buffer!.byteCount < bytes { buffer = AlignedBuffer(byteCount: bytes) }
        return buffer!.pointer
    }
}
