import Foundation
import ZIPFoundation

/// The tensors of a PyTorch checkpoint (`torch.save` of a state dict), read without Python and
/// without running anything the file names: the pickle goes through `PickleMachine` with a policy
/// that knows only how to rebuild tensors and ordered dicts.
///
/// Both on-disk formats are read:
/// * **legacy** (before PyTorch 1.6): magic number, protocol version and system info pickles, the
///   object pickle (storages as persistent ids), a pickled list of storage keys, then each storage
///   as an 8-byte element count and its raw little-endian elements;
/// * **zip** (1.6 and later): `<archive>/data.pkl` plus one raw file per storage, `<archive>/data/<key>`.
public struct TorchCheckpoint: Sendable {
    /// Tensor names in file order, and the tensors as f32 (f16, bf16, f64 and integers converted).
    public let names: [String]
    private let tensors: [String: Tensor]

    public init(names: [String], tensors: [String: Tensor]) {
        self.names = names
        self.tensors = tensors
    }

    /// Reads either format; `stripPrefix` removes a key prefix such as DataParallel's "module.".
    public static func load(_ url: URL, stripPrefix: String = "") throws -> TorchCheckpoint {
        guard FileManager.default.fileExists(atPath: url.path) else { throw NeuralError.missingFile(url.path) }
        let data = try Data(contentsOf: url, options: .mappedIfSafe)
        let isZip = data.starts(with: [0x50, 0x4B, 0x03, 0x04])
        if isZip { try checkZip64End(data) }
        return try (isZip ? loadZip(url) : loadLegacy([UInt8](data))).stripping(stripPrefix)
    }

    /// The tensor called `name`, which must have exactly `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let t = tensors[name] else { throw NeuralError.malformedModel("checkpoint has no tensor '\(name)'") }
        guard t.shape == shape else {
            throw NeuralError.shapeMismatch("checkpoint tensor '\(name)' is \(t.shape), the architecture needs \(shape)")
        }
        return t
    }

    private func stripping(_ prefix: String) -> TorchCheckpoint {
        guard !prefix.isEmpty else { return self }
        func strip(_ n: String) -> String { n.hasPrefix(prefix) ? String(n.dropFirst(prefix.count)) : n }
        return TorchCheckpoint(names: names.map(strip), tensors: Dictionary(uniqueKeysWithValues: tensors.map { (strip($0.key), $0.value) }))
    }

    // MARK: formats

    static func loadLegacy(_ bytes: [UInt8]) throws -> TorchCheckpoint {
        // The first pickle is the magic number 0x1950a86a20f9469cfc6c; it does not fit 64 bits, so
        // LONG1 would refuse it: compare its bytes instead.
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        guard bytes.starts(with: magic) else {
            throw NeuralError.malformedModel("not a PyTorch checkpoint (neither the zip nor the legacy format's magic number)")
        }
        let policy = TorchPicklePolicy()
        var machine = PickleMachine(bytes: bytes, offset: magic.count, policy: policy)
        guard case .int(let version) = try machine.load(), version == 1001 else {
            throw NeuralError.malformedModel("legacy checkpoint protocol version is not 1001")
        }
        guard case .dict(let info) = try machine.load(),
              info.entries.contains(where: { $0.key.string == "little_endian" && { if case .bool(true) = $0.value { true } else { false } }($0) })
        else { throw NeuralError.malformedModel("legacy checkpoint is not little-endian") }
        let root = try machine.load()
        guard case .list(let keys) = try machine.load() else { throw NeuralError.malformedModel("legacy checkpoint has no storage key list") }
        var offset = machine.offset
        var storages: [String: [UInt8]] = [:]
        for key in keys.items {
            guard let key = key.string, let storage = policy.storages[key] else {
                throw NeuralError.malformedModel("legacy checkpoint lists a storage no tensor uses")
            }
            guard offset + 8 <= bytes.count else { throw NeuralError.malformedModel("storage '\(key)' is cut off") }
            let count = bytes[offset..<(offset + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 8
            // Compared before multiplying: a corrupt count must not overflow.
            guard count >= 0, count <= (bytes.count - offset) / storage.type.size else {
                throw NeuralError.malformedModel("storage '\(key)' is cut off")
            }
            let length = count * storage.type.size
            storages[key] = Array(bytes[offset..<(offset + length)])
            offset += length
        }
        return try materialise(root, storages: storages)
    }

    static func loadZip(_ url: URL) throws -> TorchCheckpoint {
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw NeuralError.malformedModel("\(url.lastPathComponent) is not a readable zip archive: \(error)")
        }
        func contents(_ entry: Entry) throws -> [UInt8] {
            var out = [UInt8]()
            // The size is the archive's claim, so it only bounds the reservation.
            out.reserveCapacity(Int(min(entry.uncompressedSize, 1 << 28)))
            do {
                // ZIPFoundation computes the checksum but leaves the comparison to the caller.
                let checksum = try archive.extract(entry, skipCRC32: false) { out.append(contentsOf: $0) }
                guard checksum == entry.checksum else { throw NeuralError.malformedModel("zip entry \(entry.path) fails its CRC-32 check") }
            } catch let error as NeuralError { throw error } catch {
                throw NeuralError.malformedModel("cannot read zip entry \(entry.path): \(error)")
            }
            return out
        }
        guard let pickle = archive.first(where: { $0.path == "data.pkl" || $0.path.hasSuffix("/data.pkl") }) else {
            throw NeuralError.malformedModel("zip checkpoint has no data.pkl")
        }
        let folder = String(pickle.path.dropLast("data.pkl".count))
        let policy = TorchPicklePolicy()
        var machine = PickleMachine(bytes: try contents(pickle), policy: policy)
        let root = try machine.load()
        var storages: [String: [UInt8]] = [:]
        for key in policy.storages.keys {
            guard let entry = archive[folder + "data/" + key] else { throw NeuralError.malformedModel("zip checkpoint lacks storage data/\(key)") }
            storages[key] = try contents(entry)
        }
        return try materialise(root, storages: storages)
    }

    /// ZIPFoundation 0.9 traps, instead of throwing, on a ZIP64 end record whose central-directory
    /// offset does not fit an `off_t`, and `torch.save` always writes ZIP64 end records: check that
    /// offset first, finding the record as ZIPFoundation does (the last end-of-directory signature,
    /// the ZIP64 record just before its 20-byte locator).
    static func checkZip64End(_ data: Data) throws {
        let b = [UInt8](data.suffix((1 << 16) + 22 + 20 + 56))  // the end records sit within the comment's reach
        func integer(_ at: Int, _ count: Int) -> UInt64 { (0..<count).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
        guard b.count >= 22, let end = stride(from: b.count - 22, through: 0, by: -1).first(where: { integer($0, 4) == 0x0605_4B50 }) else {
            return  // no end record at all: ZIPFoundation refuses the archive itself
        }
        let record = end - 20 - 56
        guard record >= 0, integer(record, 4) == 0x0606_4B50 else { return }
        guard integer(record + 48, 8) <= UInt64(data.count) else {
            throw NeuralError.malformedModel("zip checkpoint's ZIP64 end record places the central directory past the end of the file")
        }
    }

    /// Turns the unpickled state dict into named f32 tensors.
    private static func materialise(_ root: PickleValue, storages: [String: [UInt8]]) throws -> TorchCheckpoint {
        guard case .dict(let dict) = root else { throw NeuralError.malformedModel("checkpoint holds no state dict") }
        var names: [String] = [], tensors: [String: Tensor] = [:]
        for (key, value) in dict.entries {
            guard let name = key.string else { throw NeuralError.malformedModel("state dict key is not a string") }
            guard case .object(let object) = value, let view = object as? TorchTensorView else { continue }
            guard let raw = storages[view.storage.key] else { throw NeuralError.malformedModel("tensor '\(name)' has no storage data") }
            tensors[name] = try view.read(raw, name: name)
            names.append(name)
        }
        return TorchCheckpoint(names: names, tensors: tensors)
    }
}

/// Element types a checkpoint's storages may have.
enum TorchScalarType: String, Sendable {
    case float = "FloatStorage", half = "HalfStorage", bfloat16 = "BFloat16Storage", double = "DoubleStorage"
    /// Integer storages (BatchNorm's `num_batches_tracked` is int64); read as f32 like the rest.
    case long = "LongStorage", int = "IntStorage", short = "ShortStorage", char = "CharStorage", byte = "ByteStorage", bool = "BoolStorage"

    var size: Int {
        switch self {
        case .float, .int: 4
        case .half, .bfloat16, .short: 2
        case .double, .long: 8
        case .char, .byte, .bool: 1
        }
    }

    func value(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        switch self {
        case .float: return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .half: return Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        case .bfloat16: return Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
        case .double: return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .long: return Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .int: return Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .short: return Float(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case .char: return Float(p.load(fromByteOffset: i, as: Int8.self))
        case .byte: return Float(p.load(fromByteOffset: i, as: UInt8.self))
        case .bool: return p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}

struct TorchStorage: Sendable {
    var key: String
    var type: TorchScalarType
    var count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage.
struct TorchTensorView: Sendable {
    var storage: TorchStorage
    var offset: Int
    var shape: [Int]
    var strides: [Int]

    /// Most elements a tensor may have: only stride-0 (expanded) views can exceed their storage,
    /// and a corrupt shape must not allocate without bound.
    static let maxElements = 1 << 30

    func read(_ raw: [UInt8], name: String) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw NeuralError.malformedModel("tensor '\(name)' has negative sizes or strides")
        }
        // Element count and last element read, with overflow reported rather than trapped.
        var count = 1, last = offset, overflow = false
        for (size, stride) in zip(shape, strides) {
            let c = count.multipliedReportingOverflow(by: size), span = max(size - 1, 0).multipliedReportingOverflow(by: stride)
            let l = last.addingReportingOverflow(span.partialValue)
            overflow = overflow || c.overflow || span.overflow || l.overflow
            (count, last) = (c.partialValue, l.partialValue)
        }
        guard !overflow, count <= Self.maxElements else { throw NeuralError.malformedModel("tensor '\(name)' has absurd sizes \(shape)") }
        guard count == 0 || last < raw.count / storage.type.size else {
            throw NeuralError.malformedModel("tensor '\(name)' reads past its storage")
        }
        var data = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { p in
            let base = p.baseAddress!
            // Walk the index space in row-major order, following the strides (non-contiguous views too).
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var position = offset
                for a in 0..<shape.count { position += index[a] * strides[a] }
                data[i] = storage.type.value(base, position)
                var a = shape.count - 1
                while a >= 0 {
                    index[a] += 1
                    if index[a] < shape[a] { break }
                    index[a] = 0
                    a -= 1
                }
            }
        }
        return Tensor(shape: shape, data: data)
    }
}

/// What a state-dict checkpoint may name: ordered dicts, tensor rebuild functions and storage
/// types. Every other global is refused by name before anything could call it.
final class TorchPicklePolicy: PicklePolicy {
    /// Storages met so far, by key.
    private(set) var storages: [String: TorchStorage] = [:]

    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
    ]

    func resolve(module: String, name: String) throws -> PickleValue {
        let qualified = "\(module).\(name)"
        if Self.callables.contains(qualified) || (module == "torch" && TorchScalarType(rawValue: name) != nil) {
            return .global(module: module, name: name)
        }
        throw NeuralError.unsafeCheckpoint("global '\(qualified)' is not a tensor, storage or ordered dict")
    }

    func call(_ callable: PickleValue, arguments a: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callable else { throw NeuralError.unsafeCheckpoint("REDUCE on a value that is not an allowed global") }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw NeuralError.unsafeCheckpoint("OrderedDict called with arguments") }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case .object(let s) = a[0], let storage = s as? TorchStorage, let offset = a[1].int,
                  let shape = a[2].tuple?.compactMap(\.int), let strides = a[3].tuple?.compactMap(\.int),
                  shape.count == a[2].tuple?.count, strides.count == shape.count
            else { throw NeuralError.malformedModel("tensor rebuild with unexpected arguments") }
            return .object(TorchTensorView(storage: storage, offset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter":
            guard let data = a.first, case .object(let t) = data, t is TorchTensorView else {
                throw NeuralError.malformedModel("parameter rebuild without a tensor")
            }
            return data
        default:
            throw NeuralError.unsafeCheckpoint("'\(module).\(name)' cannot be called")
        }
    }

    func build(_ object: PickleValue, state: PickleValue) throws -> PickleValue {
        // An OrderedDict's BUILD sets attributes such as `_metadata` (module versions): not needed.
        guard case .dict = object, case .dict = state else { throw NeuralError.unsafeCheckpoint("BUILD on something other than a dict") }
        return object
    }

    func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        // ('storage', <storage type>, key, location, element count[, view metadata])
        guard let t = id.tuple, t.count >= 5, t[0].string == "storage", case .global("torch", let typeName) = t[1],
              let type = TorchScalarType(rawValue: typeName), let key = t[2].string, let count = t[4].int, count >= 0
        else { throw NeuralError.malformedModel("persistent id is not a tensor storage") }
        let storage = TorchStorage(key: key, type: type, count: count)
        if let known = storages[key], known.type != type { throw NeuralError.malformedModel("storage '\(key)' is used with two element types") }
        storages[key] = storage
        return .object(storage)
    }
}
