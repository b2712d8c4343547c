import Core
import Foundation
import Pipeline
import Store

extension ServiceCluster {
    /// Polls job `id` until `done` holds, riding out the store's own faults; stops at once when a
    /// service died (the job could not finish then).
    public func progress(_ id: String, _ jobs: JobStore, timeout: Double = 120, until done: (JobProgress) -> Bool) async throws -> JobProgress {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard allRunning else { throw Failure.notConfigured("services died: \(ended)") }
            do {
                if let p = try await JobProgress.load(jobId: id, jobs: jobs), done(p) { return p }
            } catch where Fault.isTransient(error) {}
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw Failure.notConfigured("job \(id) did not get there within \(Int(timeout)) s")
    }

    /// Waits until the log `name` holds a line containing `text`; returns that line.
    @discardableResult
    public func awaitLog(_ name: String, containing text: String, timeout: Double) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = log(name).split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw Failure.notConfigured("\(name) did not log '\(text)' within \(Int(timeout)) s")
    }
}

/// The value of `key=` in a log line of swift-log's stream handler (`… key=value …`).
public func logField(_ key: String, in line: String) -> String? {
    guard let r = line.range(of: " \(key)=") else { return nil }
    return String(line[r.upperBound...].prefix { !$0.isWhitespace })
}
