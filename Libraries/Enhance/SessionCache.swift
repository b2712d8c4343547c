import Foundation
import Metrics

/// Loaded networks shared by every stage worker in the process, by key: a chunk of frames should
/// not re-read weights or recompile primitives.
final class SessionCache<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Value] = [:]

    /// `model` names the network in `reframe_model_load_seconds`, timed once per load (a cache hit
    /// costs nothing, so the histogram shows what a cold worker pays).
    func value(for key: String, model: String, make: () throws -> Value) throws -> Value {
        try lock.withLock {
            if let v = values[key] { return v }
            let started = ContinuousClock.now
            let v = try make()
            Metrics.Timer(label: "reframe_model_load_seconds", dimensions: [("model", model)]).record(duration: ContinuousClock.now - started)
            values[key] = v
            return v
        }
    }
}
