import Foundation

/// A value on the stack of the restricted pickle machine. Lists and dicts are reference types because
/// pickle mutates them after memoising them (SETITEMS after BINPUT), and a later BINGET must see that;
/// tuples are too, so that every container can take itself apart without recursion (see `releaseNested`).
public indirect enum PickleValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A global the policy allowed, not yet called.
    case global(module: String, name: String)
    /// Whatever the policy made of a call or a persistent id (tensors, storages).
    case object(any Sendable)

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    var tuple: [PickleValue]? { if case .tuple(let t) = self { return t.items } else { return nil } }

    /// Releases `items` without recursing into nested containers. Released the ordinary way, a
    /// hostile file's million nested tuples would overflow the stack, one frame group per level.
    /// Here each container that is about to die hands its children to a work list first, so its
    /// own deinit finds nothing left to release.
    static func releaseNested(_ items: inout [PickleValue]) {
        // Containers wait here under their own class types: held as values or as `AnyObject`, the
        // uniqueness check below does not see a sole owner (Swift 6), and everything would recurse.
        var tuples: [PickleTuple] = [], lists: [PickleList] = [], dicts: [PickleDict] = []
        func collect(_ values: inout [PickleValue]) {
            for value in values {
                switch value {
                case .tuple(let t): tuples.append(t)
                case .list(let l): lists.append(l)
                case .dict(let d): dicts.append(d)
                default: break
                }
            }
            values = []
        }
        collect(&items)
        // A container still held elsewhere (the memo, another container) is left alone; one held
        // only here gives up its children, and dies empty at the end of its iteration.
        while !(tuples.isEmpty && lists.isEmpty && dicts.isEmpty) {
            if !tuples.isEmpty {
                var t = tuples.removeLast()
                if isKnownUniquelyReferenced(&t) { collect(&t.items) }
            } else if !lists.isEmpty {
                var l = lists.removeLast()
                if isKnownUniquelyReferenced(&l) { collect(&l.items) }
            } else {
                var d = dicts.removeLast()
                if isKnownUniquelyReferenced(&d) {
                    var flat = d.entries.flatMap { [$0.key, $0.value] }
                    d.entries = []
                    collect(&flat)
                }
            }
        }
    }
}

public final class PickleTuple: @unchecked Sendable {
    public fileprivate(set) var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
    deinit { PickleValue.releaseNested(&items) }
}

public final class PickleList: @unchecked Sendable {
    public var items: [PickleValue] = []
    deinit { PickleValue.releaseNested(&items) }
}

/// A dictionary that keeps insertion order (pickle's dicts and `OrderedDict`s both do).
public final class PickleDict: @unchecked Sendable {
    public fileprivate(set) var entries: [(key: PickleValue, value: PickleValue)] = []

    deinit {
        guard !entries.isEmpty else { return }
        var flat = entries.flatMap { [$0.key, $0.value] }
        entries = []
        PickleValue.releaseNested(&flat)
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let s = key.string, let i = entries.firstIndex(where: { $0.key.string == s }) {
            entries[i].value = value
        } else {
            entries.append((key, value))
        }
    }
}

/// Decides what the restricted machine may build: which globals exist, what calling one makes, and
/// what a persistent id refers to. Anything it does not know must be refused, so a file can never
/// name `os.system` (or any other callable) and have it run.
public protocol PicklePolicy {
    /// Throws for any global outside the allow-list.
    func resolve(module: String, name: String) throws -> PickleValue
    /// REDUCE: calls an allowed global with its argument tuple.
    func call(_ callable: PickleValue, arguments: [PickleValue]) throws -> PickleValue
    /// BUILD: applies `state` to `object`; returns the object to keep on the stack.
    func build(_ object: PickleValue, state: PickleValue) throws -> PickleValue
    /// BINPERSID / PERSID: the object a persistent id stands for.
    func persistentLoad(_ id: PickleValue) throws -> PickleValue
}

/// Runs the opcodes of pickle protocols 0–5 that data files use, and no others: there is no
/// INST/OBJ/NEWOBJ/EXT, every GLOBAL goes through the policy, and REDUCE can only call what the
/// policy resolved. Reads one pickle starting at `offset` and leaves `offset` just past its STOP.
public struct PickleMachine {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private let policy: any PicklePolicy
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Opcodes that create objects without going through the policy.
    private static let objectOpcodes: [UInt8: String] = [
        0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
    ]

    public init(bytes: [UInt8], offset: Int = 0, policy: any PicklePolicy) {
        self.bytes = bytes
        self.offset = offset
        self.policy = policy
    }

    /// Unpickles the next object.
    public mutating func load() throws -> PickleValue {
        stack.removeAll()
        marks.removeAll()
        memo.removeAll()
        while true {
            let at = offset
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO
            case 0x95: _ = try read(8)  // FRAME: a length hint only
            case 0x2E:  // STOP
                guard stack.count == 1 else { throw malformed("STOP with \(stack.count) values on the stack", at) }
                return stack.removeLast()
            case 0x28: marks.append(stack.count)  // MARK
            case 0x29: stack.append(.tuple(PickleTuple([])))  // EMPTY_TUPLE
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
            case 0x4D: stack.append(.int(Int(try littleEndian(2))))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
            case 0x8A: stack.append(.int(try long(count: Int(try byte()), at: at)))  // LONG1
            case 0x8B: stack.append(.int(try long(count: Int(try littleEndian(4)), at: at)))  // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndianBytes: try read(8)))))  // BINFLOAT
            case 0x58: stack.append(.string(try text(count: Int(try littleEndian(4)), at: at)))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(count: Int(try byte()), at: at)))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(count: Int(clamping: try littleEndian(8)), at: at)))  // BINUNICODE8 (clamped: no trap)
            case 0x55: stack.append(.string(try text(count: Int(try byte()), at: at)))  // SHORT_BINSTRING
            case 0x54: stack.append(.string(try text(count: Int(try littleEndian(4)), at: at)))  // BINSTRING
            case 0x43: stack.append(.bytes(try read(Int(try byte()))))  // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try read(Int(try littleEndian(4)))))  // BINBYTES
            case 0x74: stack.append(.tuple(PickleTuple(try popMark(at))))  // TUPLE
            case 0x85: stack.append(.tuple(PickleTuple(try pop(1, at))))
            case 0x86: stack.append(.tuple(PickleTuple(try pop(2, at))))
            case 0x87: stack.append(.tuple(PickleTuple(try pop(3, at))))
            case 0x71: memo[Int(try byte())] = try top(at)  // BINPUT
            case 0x72: memo[Int(try littleEndian(4))] = try top(at)  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(at)  // MEMOIZE
            case 0x68: stack.append(try recall(Int(try byte()), at))  // BINGET
            case 0x6A: stack.append(try recall(Int(try littleEndian(4)), at))  // LONG_BINGET
            case 0x30: _ = try pop(1, at)  // POP
            case 0x31: _ = try popMark(at)  // POP_MARK
            case 0x32: stack.append(try top(at))  // DUP
            case 0x61:  // APPEND
                let item = try pop(1, at)[0]
                try list(at).items.append(item)
            case 0x65:  // APPENDS
                let items = try popMark(at)
                try list(at).items.append(contentsOf: items)
            case 0x73:  // SETITEM
                let kv = try pop(2, at)
                try dict(at).set(kv[0], kv[1])
            case 0x75:  // SETITEMS
                let items = try popMark(at)
                guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of values", at) }
                let d = try dict(at)
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(at), name = try line(at)
                stack.append(try policy.resolve(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                let names = try pop(2, at)
                guard let module = names[0].string, let name = names[1].string else { throw malformed("STACK_GLOBAL needs two strings", at) }
                stack.append(try policy.resolve(module: module, name: name))
            case 0x52:  // REDUCE
                let parts = try pop(2, at)
                guard let arguments = parts[1].tuple else { throw malformed("REDUCE arguments are not a tuple", at) }
                stack.append(try policy.call(parts[0], arguments: arguments))
            case 0x62:  // BUILD
                let parts = try pop(2, at)
                stack.append(try policy.build(parts[0], state: parts[1]))
            case 0x51: stack.append(try policy.persistentLoad(try pop(1, at)[0]))  // BINPERSID
            case 0x50: stack.append(try policy.persistentLoad(.string(try line(at))))  // PERSID
            default:
                let code = "0x" + (op < 0x10 ? "0" : "") + String(op, radix: 16)
                // A byte that is no opcode (or one data files never use) means a broken file; an
                // opcode that builds objects outside the policy means a hostile one.
                guard var refused = Self.objectOpcodes[op] else { throw malformed("unsupported pickle opcode \(code)", at) }
                if op == 0x69, let module = try? line(at), let name = try? line(at) { refused += " \(module).\(name)" }  // INST names its class inline
                throw NeuralError.unsafeCheckpoint("pickle opcode \(code) (\(refused)) at byte \(at) is not allowed")
            }
        }
    }

    // MARK: reading

    private mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw malformed("pickle ends without STOP", offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func read(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= bytes.count - offset else { throw malformed("a \(count)-byte field runs past the end", offset) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt64 {
        try read(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Two's-complement little-endian integers (LONG1/LONG4); wider than 64 bits is refused.
    private mutating func long(count: Int, at: Int) throws -> Int {
        guard count <= 8 else { throw malformed("integer of \(count) bytes", at) }
        let raw = try read(count)
        guard let last = raw.last else { return 0 }
        var value = raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if last & 0x80 != 0, count < 8 { value |= ~UInt64(0) << (8 * count) }
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(count: Int, at: Int) throws -> String {
        guard let s = String(validating: try read(count), as: UTF8.self) else { throw malformed("string is not UTF-8", at) }
        return s
    }

    private mutating func line(_ at: Int) throws -> String {
        guard let end = bytes[offset...].firstIndex(of: 0x0A) else { throw malformed("unterminated text field", at) }
        let s = try text(count: end - offset, at: at)
        offset += 1  // the newline
        return s
    }

    // MARK: stack

    private mutating func pop(_ n: Int, _ at: Int) throws -> [PickleValue] {
        guard stack.count - n >= (marks.last ?? 0) else { throw malformed("stack underflow", at) }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("no MARK", at) }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func top(_ at: Int) throws -> PickleValue {
        guard let v = stack.last else { throw malformed("empty stack", at) }
        return v
    }

    private func recall(_ key: Int, _ at: Int) throws -> PickleValue {
        guard let v = memo[key] else { throw malformed("memo \(key) is unset", at) }
        return v
    }

    private func list(_ at: Int) throws -> PickleList {
        guard case .list(let l) = try top(at) else { throw malformed("APPEND target is not a list", at) }
        return l
    }

    private func dict(_ at: Int) throws -> PickleDict {
        guard case .dict(let d) = try top(at) else { throw malformed("SETITEM target is not a dict", at) }
        return d
    }

    private func malformed(_ message: String, _ at: Int) -> NeuralError {
        .malformedModel("pickle: \(message) (byte \(at))")
    }
}

private extension UInt64 {
    init(bigEndianBytes b: [UInt8]) { self = b.reduce(0) { $0 << 8 | UInt64($1) } }
}
