import Foundation

/// Loaded networks shared by every stage worker in the process, by key: a chunk of frames should
/// not re-read weights or recompile primitives.
final class SessionCache<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Value] = [:]

    func value(for key: String, make: () throws -> Value) throws -> Value {
        try lock.withLock {
            if let v = values[key] { return v }
            let v = try make()
            values[key] = v
            return v
        }
    }
}
