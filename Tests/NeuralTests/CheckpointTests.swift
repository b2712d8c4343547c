import Foundation
import Neural
import XCTest
import ZIPFoundation

/// The PyTorch checkpoint reader: real files written by `torch.save` in both formats
/// (benchmarks/reference/make_checkpoint_fixtures.py) must read back exactly, and hostile or broken
/// files must be refused with the right error, without running anything and without crashing.
final class CheckpointTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-checkpoint-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: real checkpoints

    func testLegacyCheckpointMatchesPyTorch() throws {
        try assertMatchesPyTorch(try TorchCheckpoint.load(fixture("checkpoint-legacy.pt")), "legacy")
    }

    func testZipCheckpointMatchesPyTorch() throws {
        try assertMatchesPyTorch(try TorchCheckpoint.load(fixture("checkpoint-zip.pt")), "zip")
    }

    func testTensorLookupChecksNameAndShape() throws {
        let checkpoint = try TorchCheckpoint.load(fixture("checkpoint-zip.pt"))
        XCTAssertThrowsError(try checkpoint.tensor("0.weights", shape: [3, 2, 3, 3])) { error in
            guard case NeuralError.malformedModel(let m) = error, m.contains("0.weights") else { return XCTFail("got \(error)") }
        }
        XCTAssertThrowsError(try checkpoint.tensor("0.weight", shape: [3, 2, 9])) { error in
            guard case NeuralError.shapeMismatch = error else { return XCTFail("got \(error)") }
        }
        // The prefix goes from the names that have it; the others keep theirs.
        let stripped = try TorchCheckpoint.load(fixture("checkpoint-legacy.pt"), stripPrefix: "shared.")
        XCTAssertEqual(stripped.names.filter { !$0.contains(".") || $0.hasPrefix("shared") }, ["half", "bfloat16", "double", "transposed", "base", "window", "expanded", "parameter"])
        XCTAssertEqual(try stripped.tensor("window", shape: [2, 3]), try checkpoint.tensor("shared.window", shape: [2, 3]))
        XCTAssertEqual(try stripped.tensor("0.bias", shape: [3]), try checkpoint.tensor("0.bias", shape: [3]))
    }

    // MARK: hostile pickles

    /// The hostile files below reuse the legacy format's real header, so they get as far as the object pickle.
    func testHandWrittenLegacyHeaderIsTheOnePyTorchWrites() throws {
        let real = [UInt8](try Data(contentsOf: fixture("checkpoint-legacy.pt")))
        XCTAssertEqual(Array(real.prefix(Forge.legacyHeader.count)), Forge.legacyHeader)
        // And a hand-made file with that header and a one-tensor state dict loads, so the refusals below are about the payload.
        let url = try write(Forge.legacyFile(Forge.stateDict([("w", Forge.tensor(storageCount: 4, shape: [2, 2], strides: [2, 1]))]),
                                             storages: [("0", Forge.floats([1, 2, 3, 4]))]), "handmade.pt")
        XCTAssertEqual(try TorchCheckpoint.load(url).tensor("w", shape: [2, 2]).data, [1, 2, 3, 4])
        let zipURL = try zip(["archive/data.pkl": Forge.pickle(Forge.stateDict([("w", Forge.tensor(storageCount: 4, shape: [2, 2], strides: [1, 2]))])),
                              "archive/data/0": Forge.floats([1, 2, 3, 4])], "handmade-zip.pt")
        XCTAssertEqual(try TorchCheckpoint.load(zipURL).tensor("w", shape: [2, 2]).data, [1, 3, 2, 4])
    }

    /// Globals that would run a command (here: touch a marker file) are refused by name, through
    /// GLOBAL and STACK_GLOBAL, at the top level and inside a state dict, in both file formats.
    func testGlobalsThatRunCodeAreRefused() throws {
        let marker = folder.appendingPathComponent("pwned").path
        let command = Forge.string("touch \(marker)")
        let calls: [(module: String, name: String, arguments: [UInt8])] = [
            ("os", "system", command),
            ("posix", "system", command),
            ("nt", "system", command),
            ("builtins", "eval", Forge.string("__import__('os').system('touch \(marker)')")),
            ("builtins", "exec", Forge.string("import os; os.system('touch \(marker)')")),
            ("__builtin__", "eval", Forge.string("__import__('os').system('touch \(marker)')")),
            ("subprocess", "Popen", [Forge.emptyList, Forge.mark] + Forge.string("touch") + Forge.string(marker) + [Forge.appends]),
            ("builtins", "getattr", Forge.global("os", "path") + Forge.string("exists")),
            ("torch", "load", Forge.string(marker)),
            ("torch.serialization", "load", Forge.string(marker)),
        ]
        for c in calls {
            for stackGlobal in [false, true] {
                let callable = stackGlobal ? Forge.string(c.module) + Forge.string(c.name) + [Forge.stackGlobal] : Forge.global(c.module, c.name)
                let call = callable + [Forge.mark] + c.arguments + [Forge.tuple, Forge.reduce]
                // Top level, and as a value after an allowed tensor (refused mid-file, after legitimate work).
                let nested = Forge.stateDict([("w", Forge.tensor(storageCount: 1, shape: [1], strides: [1])), ("evil", call)])
                for (place, object) in [("top", call), ("nested", nested)] {
                    let label = "\(c.module).\(c.name) \(stackGlobal ? "STACK_GLOBAL" : "GLOBAL") \(place)"
                    let legacy = try write(Forge.legacyFile(object, storages: []), "evil.pt")
                    assertRefused(legacy, naming: "\(c.module).\(c.name)", label + " legacy")
                    let zipped = try zip(["archive/data.pkl": Forge.pickle(object), "archive/data/0": Forge.floats([1])], "evil-zip.pt")
                    assertRefused(zipped, naming: "\(c.module).\(c.name)", label + " zip")
                }
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a refused checkpoint ran its command")
    }

    /// Opcodes that construct objects without REDUCE are refused outright, even with a class the
    /// policy would allow (OrderedDict), since the policy never sees them.
    func testObjectBuildingOpcodesAreRefused() throws {
        let marker = folder.appendingPathComponent("pwned").path
        let orderedDict = Forge.global("collections", "OrderedDict")
        let cases: [(name: String, code: String, pickle: [UInt8])] = [
            // INST names its class inline: `(args… i module\nname\n`.
            ("INST", "os.system", [Forge.mark] + Forge.string("touch \(marker)") + [0x69] + Array("os\nsystem\n".utf8)),
            ("OBJ", "0x6f", [Forge.mark] + orderedDict + [0x6F]),
            ("NEWOBJ", "0x81", orderedDict + [Forge.emptyTuple, 0x81]),
            ("NEWOBJ_EX", "0x92", orderedDict + [Forge.emptyTuple, Forge.emptyDict, 0x92]),
            ("EXT1", "0x82", [0x82, 0x01]),
        ]
        for c in cases {
            let legacy = try write(Forge.legacyFile(c.pickle, storages: []), "opcode.pt")
            assertRefused(legacy, naming: c.code, "\(c.name) legacy")
            assertRefused(legacy, naming: c.name, "\(c.name) legacy")
            let zipped = try zip(["archive/data.pkl": Forge.pickle(c.pickle)], "opcode-zip.pt")
            assertRefused(zipped, naming: c.code, "\(c.name) zip")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a refused checkpoint ran its command")
    }

    /// Allowed globals are only usable as intended: storage types are tags, not callables, and
    /// BUILD only applies to dicts.
    func testAllowedGlobalsCannotBeMisused() throws {
        let cases: [(label: String, pickle: [UInt8], naming: String)] = [
            ("call a storage type", Forge.global("torch", "FloatStorage") + [Forge.mark, Forge.tuple, Forge.reduce], "torch.FloatStorage"),
            ("OrderedDict with arguments", Forge.global("collections", "OrderedDict") + [Forge.mark] + Forge.string("x") + [Forge.tuple, Forge.reduce], "OrderedDict"),
            ("BUILD on a global", Forge.global("torch", "FloatStorage") + [Forge.emptyDict, Forge.build], "BUILD"),
            ("REDUCE on a string", Forge.string("os.system") + [Forge.emptyTuple, Forge.reduce], "REDUCE"),
            ("unknown storage type", Forge.global("torch", "PyObjectStorage"), "torch.PyObjectStorage"),
        ]
        for c in cases {
            assertRefused(try write(Forge.legacyFile(c.pickle, storages: []), "misuse.pt"), naming: c.naming, c.label)
        }
    }

    // MARK: broken files

    /// Prefixes of a real file are refused as malformed: no crash, no other error. Every length of
    /// the legacy file; for the zip, whose every prefix lacks the end record (and costs a scan of the
    /// whole file to find that out), every length through its end records and every 50th before.
    func testTruncatedFilesAreMalformed() throws {
        for name in ["checkpoint-legacy.pt", "checkpoint-zip.pt"] {
            let bytes = [UInt8](try Data(contentsOf: fixture(name)))
            for length in positions(bytes, zipTail: 120, zipStride: 50) {
                let url = try write(Array(bytes.prefix(length)), "truncated.pt")
                assertMalformed(url, "\(name) cut to \(length) of \(bytes.count) bytes")
            }
        }
    }

    /// A corrupted byte either still loads or gives a `NeuralError` (malformed, or unsafe when it
    /// turned a global's name into another): never a crash or a foreign error. Every byte of the
    /// legacy file; for the zip (slower to open), every byte of the first local header, the first
    /// central-directory record and the end records, and every 13th byte elsewhere.
    func testCorruptedBytesNeverCrash() throws {
        for name in ["checkpoint-legacy.pt", "checkpoint-zip.pt"] {
            let bytes = [UInt8](try Data(contentsOf: fixture(name)))
            var indices = positions(bytes, zipTail: 100, zipStride: 13)
            if let directory = firstIndex(of: [0x50, 0x4B, 0x01, 0x02], in: bytes) {
                indices += Array(0..<100) + Array(directory..<min(directory + 80, bytes.count))
            }
            for i in Set(indices).sorted() {
                var broken = bytes
                broken[i] ^= 0xA5
                let url = try write(broken, "corrupt.pt")
                do { _ = try TorchCheckpoint.load(url) } catch is NeuralError {} catch {
                    XCTFail("\(name) with byte \(i) corrupted: \(error) is not a NeuralError")
                }
            }
        }
    }

    /// A zip whose data fails its CRC (a flipped byte inside the pickle or a storage) is malformed.
    func testZipWithBadChecksumIsMalformed() throws {
        let object = Forge.pickle(Forge.stateDict([("w", Forge.tensor(storageCount: 4, shape: [4], strides: [1]))]))
        let storage = Forge.floats([1, 2, 3, 4])
        let url = try zip(["archive/data.pkl": object, "archive/data/0": storage], "crc.pt")
        let bytes = [UInt8](try Data(contentsOf: url))
        // Stored (uncompressed) entries: the payloads appear verbatim in the file. Both flips leave
        // data that would still load (the key "w" becomes "v", 2.0 becomes 2.0000002), so only the CRC can catch them.
        for (label, payload, flip) in [("pickle", Forge.string("w"), 5), ("storage", storage, 4)] {
            guard let at = firstIndex(of: payload, in: bytes) else { return XCTFail("\(label) not stored verbatim") }
            var broken = bytes
            broken[at + flip] ^= 0x01
            assertMalformed(try write(broken, "crc-broken.pt"), "flipped bit in the \(label)")
        }
    }

    /// Metadata that is consistent pickle but nonsense as a tensor: sizes whose products overflow,
    /// reads past the storage, absurd element counts, and storages that do not match.
    func testNonsenseTensorMetadataIsMalformed() throws {
        let four = Forge.floats([1, 2, 3, 4])
        let tensors: [(label: String, tensor: [UInt8])] = [
            ("element count overflows", Forge.tensor(storageCount: 4, shape: [1 << 62, 4], strides: [0, 0])),
            ("extent overflows", Forge.tensor(storageCount: 4, shape: [2, 2], strides: [1 << 62, 1])),
            ("offset plus extent overflows", Forge.tensor(storageCount: 4, offset: Int.max, shape: [2], strides: [1])),
            ("huge stride-0 tensor", Forge.tensor(storageCount: 4, shape: [1 << 40], strides: [0])),
            ("reads past the storage", Forge.tensor(storageCount: 4, offset: 1, shape: [2, 2], strides: [2, 1])),
            ("negative stride", Forge.tensor(storageCount: 4, shape: [2, 2], strides: [-2, 1])),
            ("negative offset", Forge.tensor(storageCount: 4, offset: -1, shape: [2], strides: [1])),
            ("shape is not a tuple of ints", Forge.tensor(storageCount: 4, shape: [2], strides: [1], shapeSuffix: Forge.string("x"))),
        ]
        for t in tensors {
            let object = Forge.stateDict([("w", t.tensor)])
            assertMalformed(try write(Forge.legacyFile(object, storages: [("0", four)]), "meta.pt"), t.label + " (legacy)")
            assertMalformed(try zip(["archive/data.pkl": Forge.pickle(object), "archive/data/0": four], "meta-zip.pt"), t.label + " (zip)")
        }
        let good = Forge.stateDict([("w", Forge.tensor(storageCount: 4, shape: [4], strides: [1]))])
        // Legacy storage records: an element count far beyond the file (would overflow as bytes), a negative one, a short one.
        for (label, count) in [("count overflows", 1 << 62), ("negative count", -1), ("count past the end", 5)] {
            var file = Forge.legacyFile(good, storages: [])
            file += Forge.pickle([Forge.emptyList, Forge.mark] + Forge.string("0") + [Forge.appends])
            file += Forge.le(UInt64(bitPattern: Int64(count))) + four
            assertMalformed(try write(file, "count.pt"), label)
        }
        assertMalformed(try write(Forge.legacyFile(good, storages: [("0", four), ("1", four)]), "extra.pt"), "unused storage listed")
        let twoTypes = Forge.stateDict([("a", Forge.tensor(storageCount: 4, shape: [4], strides: [1])),
                                        ("b", Forge.tensor(type: "HalfStorage", storageCount: 4, shape: [4], strides: [1]))])
        assertMalformed(try write(Forge.legacyFile(twoTypes, storages: [("0", four)]), "types.pt"), "one storage, two element types")
        assertMalformed(try zip(["archive/data.pkl": Forge.pickle(good)], "nostorage.pt"), "zip without the storage file")
        assertMalformed(try zip(["archive/data.pkl": Forge.pickle(good), "archive/data/0": Array(four.prefix(12))], "short.pt"), "zip storage too short")
        assertMalformed(try zip(["archive/other.pkl": Forge.pickle(good)], "nopickle.pt"), "zip without data.pkl")
        assertMalformed(try zip(["archive/data.pkl": Forge.pickle(Forge.string("not a dict"))], "notdict.pt"), "pickle is not a state dict")
        assertMalformed(try write(Array("PK\u{3}\u{4} but not really a zip".utf8), "fakezip.pt"), "zip magic only")
        assertMalformed(try write(Array(Forge.legacyHeader.dropLast(1)) + [0xFF] + Forge.pickle(good), "badinfo.pt"), "bad system info")
        assertMalformed(try write(Forge.legacyFile([0xFF], storages: []), "badop.pt"), "a byte that is no pickle opcode")
    }

    /// Deeply nested containers (200 000 levels, well past what recursive release survives on an
    /// 8 MB stack) are refused without overflowing the stack, for tuples, lists and dicts alike.
    func testDeeplyNestedContainersDoNotOverflowTheStack() throws {
        let depth = 200_000
        let nested: [(String, [UInt8])] = [
            ("tuples", [Forge.emptyTuple] + [UInt8](repeating: 0x85, count: depth)),  // ((((),),),)…
            ("lists", [UInt8](repeating: Forge.emptyList, count: depth) + [UInt8](repeating: 0x61, count: depth - 1)),  // [[[…]]] by APPEND
            ("dicts", ([Forge.emptyDict] + Forge.string("k")).repeated(depth) + [Forge.emptyDict] + [UInt8](repeating: 0x73, count: depth)),  // {"k": {"k": …}} by SETITEM
        ]
        for (label, object) in nested {
            assertMalformed(try write(Forge.legacyFile(object, storages: []), "deep.pt"), "\(depth) nested \(label)")
        }
    }

    // MARK: helpers

    private struct Expected: Decodable {
        struct Entry: Decodable { var shape: [Int]; var values: [Double] }
        var names: [String]
        var tensors: [String: Entry]
    }

    private func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "fixture \(name) missing")
    }

    /// Names in file order, shapes, and every value bit for bit (f16/bf16/f64/i64 converted to f32 as PyTorch's `.float()` does).
    private func assertMatchesPyTorch(_ checkpoint: TorchCheckpoint, _ format: String) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixture("checkpoint-expected.json")))
        XCTAssertEqual(checkpoint.names, expected.names, "\(format): tensor names or order")
        for name in expected.names {
            let e = try XCTUnwrap(expected.tensors[name])
            let t = try checkpoint.tensor(name, shape: e.shape)
            let want = e.values.map { Float($0) }
            if let i = t.data.indices.first(where: { t.data[$0].bitPattern != want[$0].bitPattern }) {
                XCTFail("\(format): '\(name)' element \(i) is \(t.data[i]), PyTorch has \(want[i])")
            }
            XCTAssertEqual(t.data.count, want.count, "\(format): '\(name)' element count")
        }
    }

    private func assertRefused(_ url: URL, naming: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TorchCheckpoint.load(url), label, file: file, line: line) { error in
            guard case NeuralError.unsafeCheckpoint(let message) = error else {
                return XCTFail("\(label): expected unsafeCheckpoint, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(message.contains(naming), "\(label): message '\(message)' does not name \(naming)", file: file, line: line)
        }
    }

    private func assertMalformed(_ url: URL, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TorchCheckpoint.load(url), label, file: file, line: line) { error in
            guard case NeuralError.malformedModel = error else { return XCTFail("\(label): expected malformedModel, got \(error)", file: file, line: line) }
        }
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A zip with stored (uncompressed) entries, as `torch.save` writes them.
    private func zip(_ entries: KeyValuePairs<String, [UInt8]>, _ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (path, bytes) in entries {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: .none) { position, size in
                Data(bytes[Int(position)..<(Int(position) + size)])
            }
        }
        return url
    }

    /// All indices of a legacy file; for a zip, all of its last `zipTail` bytes and every `zipStride`-th before.
    private func positions(_ bytes: [UInt8], zipTail: Int, zipStride: Int) -> [Int] {
        guard bytes.starts(with: [0x50, 0x4B]) else { return Array(bytes.indices) }
        let tail = max(bytes.count - zipTail, 0)
        return Array(stride(from: 0, to: tail, by: zipStride)) + Array(tail..<bytes.count)
    }

    private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

private extension Array {
    func repeated(_ n: Int) -> [Element] { Array((0..<n).map { _ in self }.joined()) }
}

/// Pickle bytes written by hand (protocol 2 opcodes), for hostile and hand-made checkpoints. None
/// of it is ever given to Python.
private enum Forge {
    static let mark: UInt8 = 0x28, tuple: UInt8 = 0x74, reduce: UInt8 = 0x52, build: UInt8 = 0x62, stop: UInt8 = 0x2E
    static let emptyTuple: UInt8 = 0x29, emptyList: UInt8 = 0x5D, emptyDict: UInt8 = 0x7D, appends: UInt8 = 0x65
    static let setItems: UInt8 = 0x75, binPersId: UInt8 = 0x51, newFalse: UInt8 = 0x89, stackGlobal: UInt8 = 0x93

    /// The legacy format's first three pickles exactly as PyTorch writes them: magic number,
    /// protocol version 1001, and system info (little-endian, type sizes), memo puts included.
    static let legacyHeader: [UInt8] = {
        var h: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        h += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        h += [0x80, 0x02, emptyDict, 0x71, 0, mark] + string("protocol_version") + [0x71, 1, 0x4D, 0xE9, 0x03]
        h += string("little_endian") + [0x71, 2, 0x88] + string("type_sizes") + [0x71, 3, emptyDict, 0x71, 4, mark]
        h += string("short") + [0x71, 5, 0x4B, 2] + string("int") + [0x71, 6, 0x4B, 4] + string("long") + [0x71, 7, 0x4B, 4]
        return h + [setItems, setItems, stop]
    }()

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { [0x58] + le(UInt32(s.utf8.count)) + Array(s.utf8) }
    /// LONG1 with 8 bytes: any Int.
    static func int(_ v: Int) -> [UInt8] { [0x8A, 8] + le(Int64(v)) }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [stop] }
    static func floats(_ v: [Float]) -> [UInt8] { v.flatMap { le($0.bitPattern) } }

    /// `OrderedDict()` filled by SETITEMS, as `torch.save` writes a state dict.
    static func stateDict(_ entries: [(String, [UInt8])]) -> [UInt8] {
        global("collections", "OrderedDict") + [emptyTuple, reduce, mark] + entries.flatMap { string($0.0) + $0.1 } + [setItems]
    }

    /// `_rebuild_tensor_v2(persistent storage '0', offset, shape, strides, False, OrderedDict())`.
    static func tensor(type: String = "FloatStorage", key: String = "0", storageCount: Int, offset: Int = 0, shape: [Int], strides: [Int],
                       shapeSuffix: [UInt8] = []) -> [UInt8] {
        let storage = [mark] + string("storage") + global("torch", type) + string(key) + string("cpu") + int(storageCount) + [tuple, binPersId]
        return global("torch._utils", "_rebuild_tensor_v2") + [mark] + storage + int(offset)
            + [mark] + shape.flatMap(int) + shapeSuffix + [tuple] + [mark] + strides.flatMap(int) + [tuple]
            + [newFalse] + global("collections", "OrderedDict") + [emptyTuple, reduce, tuple, reduce]
    }

    /// Header, the object pickle, the storage key list, then each storage as a count and its bytes (f32 here).
    static func legacyFile(_ object: [UInt8], storages: [(key: String, bytes: [UInt8])]) -> [UInt8] {
        var file = legacyHeader + pickle(object)
        guard !storages.isEmpty else { return file }
        file += pickle([emptyList, mark] + storages.flatMap { string($0.key) } + [appends])
        for s in storages { file += le(UInt64(s.bytes.count / 4)) + s.bytes }
        return file
    }
}
