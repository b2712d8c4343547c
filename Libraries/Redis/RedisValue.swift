import Core
import Foundation

/// A decoded Redis reply. Bulk strings stay as bytes: frame data is binary.
public enum RedisValue: Sendable, Equatable {
    case bulk([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisValue])
    case null

    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk, .status: return string.flatMap { Int64($0) }
        default: return nil
        }
    }
    public var array: [RedisValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// Errors from the Redis client.
public enum RedisError: FaultClassifying, CustomStringConvertible, Sendable, Equatable {
    /// The connection failed or broke; the command may or may not have run.
    case connection(String)
    /// Redis refused the command because `maxmemory` is reached under `noeviction`: back off and retry.
    case outOfMemory(String)
    /// Any other error reply.
    case server(String)
    case invalidURL(String)

    /// Error replies a server gives while it cannot serve yet (loading its AOF after a restart,
    /// running a script, failing over); anything else is a refused command and will be refused again.
    static let transientReplies = ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "MISCONF"]

    public var isTransient: Bool {
        switch self {
        case .connection, .outOfMemory: return true
        case .server(let m): return Self.transientReplies.contains { m.hasPrefix($0) }
        case .invalidURL: return false
        }
    }

    public var description: String {
        switch self {
        case .connection(let m): return "redis connection: \(m)"
        case .outOfMemory(let m): return "redis out of memory: \(m)"
        case .server(let m): return "redis: \(m)"
        case .invalidURL(let m): return "invalid redis URL: \(m)"
        }
    }
}

/// Where to connect: `redis://[:password@]host[:port][/db]`.
public struct RedisEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?

    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis" else { throw RedisError.invalidURL(url) }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 6379
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard path.isEmpty || Int(path) != nil else { throw RedisError.invalidURL("\(url): database must be a number") }
        database = Int(path) ?? 0
        password = components.password ?? components.user.flatMap { $0.isEmpty ? nil : $0 }
    }
}
