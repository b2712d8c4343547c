import Core
import Foundation
import Store
import Synchronization

/// Frames a stage has finished inside the chunk it works on, so `reframe watch` and `process` move
/// from the first second of a model that takes a minute per chunk. Handlers record from any thread
/// (inside BlockingWork); a task copies the number to the store every `interval`, not every frame.
/// A display hint kept apart from the exact counts (Keys.framesInProgress): readers ignore it once
/// the chunk is marked done, and it is deleted when the attempt ends, so a redelivered chunk starts
/// again from zero instead of adding up.
final class InChunkProgress: Sendable {
    static let interval = 0.5
    private let frames = Mutex(0)

    func record(framesDone n: Int) { frames.withLock { $0 = max($0, n) } }
    var framesDone: Int { frames.withLock { $0 } }

    /// Runs `body` (the work and the chunk's done mark) while its progress is published under
    /// `field`; removes the field after, whether the body succeeded or threw.
    static func reporting<T>(jobId: String, field: String, jobs: JobStore, _ body: (InChunkProgress) async throws -> T) async throws -> T {
        let progress = InChunkProgress()
        let writer = Task {
            var written: Int?
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                let n = progress.framesDone
                guard n != written, !Task.isCancelled else { continue }
                // A hint: a full or restarting store must not fail the chunk over it.
                try? await jobs.setFramesInProgress(jobId, field: field, frames: n)
                written = n
            }
        }
        let result: Result<T, Error>
        do { result = .success(try await body(progress)) } catch { result = .failure(error) }
        writer.cancel()
        await writer.value
        try? await jobs.clearFramesInProgress(jobId, field: field)
        return try result.get()
    }
}
