/// Sixteen channels of one pixel: the unit every kernel here works in. It matches oneDNN's
/// nChw16c block, so tensors cross between this module and oneDNN primitives without reorders.
typealias Lanes = SIMD16<Float>

extension UnsafeRawPointer {
    @inline(__always) func lanes(_ floatOffset: Int) -> Lanes { load(fromByteOffset: floatOffset &* 4, as: Lanes.self) }
}

extension UnsafeMutableRawPointer {
    @inline(__always) func lanes(_ floatOffset: Int) -> Lanes { load(fromByteOffset: floatOffset &* 4, as: Lanes.self) }
    @inline(__always) func store(_ v: Lanes, _ floatOffset: Int) { storeBytes(of: v, toByteOffset: floatOffset &* 4, as: Lanes.self) }
}
