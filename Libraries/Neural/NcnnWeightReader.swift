import Foundation

/// Reads the `.bin` weight stream in layer order. Tagged buffers start with a 4-byte flag that
/// says how they are stored (fp16, fp32, or an fp32 codebook); raw buffers (biases, slopes) are
/// plain fp32. Every buffer is padded to 4 bytes.
public struct NcnnWeightReader {
    private let data: Data
    private(set) var offset = 0

    static let fp16Tag: UInt32 = 0x0130_6B47
    static let int8Tag: UInt32 = 0x000D_4B38
    static let fp32ScaledTag: UInt32 = 0x0002_C056

    public init(data: Data) { self.data = data }

    public var isAtEnd: Bool { offset == data.count }
    public var remaining: Int { data.count - offset }

    /// A buffer preceded by its storage flag.
    public mutating func readTagged(_ count: Int, what: String) throws -> [Float] {
        let tag = try readUInt32(what: what)
        let bytes = withUnsafeBytes(of: tag.littleEndian) { Array($0) }
        switch tag {
        case Self.fp16Tag:
            let raw = try take(align4(count * 2), what: what)
            return raw.withUnsafeBytes { p in (0..<count).map { Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) } }
        case Self.int8Tag:
            throw NeuralError.malformedModel("\(what): int8-quantised weights are not supported")
        case Self.fp32ScaledTag:
            return try readRaw(count, what: what)
        default:
            if bytes.allSatisfy({ $0 == 0 }) { return try readRaw(count, what: what) }
            // Any other non-zero flag: a 256-entry fp32 codebook followed by one index byte per weight.
            let table = try readRaw(256, what: what + " codebook")
            let indices = try take(align4(count), what: what)
            return indices.prefix(count).map { table[Int($0)] }
        }
    }

    /// A plain fp32 buffer with no flag.
    public mutating func readRaw(_ count: Int, what: String) throws -> [Float] {
        let raw = try take(count * 4, what: what)
        return raw.withUnsafeBytes { p in (0..<count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    private mutating func readUInt32(what: String) throws -> UInt32 {
        let raw = try take(4, what: what)
        return raw.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }

    private mutating func take(_ count: Int, what: String) throws -> Data {
        guard count >= 0, offset + count <= data.count else {
            throw NeuralError.malformedModel("weight file ends early while reading \(what) (need \(count) bytes at offset \(offset), file has \(data.count))")
        }
        defer { offset += count }
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + count))
    }

    private func align4(_ n: Int) -> Int { (n + 3) & ~3 }
}
