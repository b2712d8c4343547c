import Core
import Foundation
import OpenAPIRuntime

/// A file's bytes (or one range of them) as a response body, read in blocks off the cooperative pool.
enum FileBody {
    static let blockSize = 1 << 20

    static func body(path: String, range: ByteRange) -> HTTPBody {
        let stream = AsyncThrowingStream<ArraySlice<UInt8>, any Error> { continuation in
            let task = Task {
                do {
                    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
                    defer { try? handle.close() }
                    try handle.seek(toOffset: UInt64(range.start))
                    var left = range.count
                    while left > 0, !Task.isCancelled {
                        let want = min(left, blockSize)
                        let data = try await BlockingWork.run { try handle.read(upToCount: want) ?? Data() }
                        guard !data.isEmpty else { throw CocoaError(.fileReadCorruptFile) }
                        left -= data.count
                        continuation.yield(ArraySlice(data))
                    }
                    continuation.finish()
                } catch { continuation.finish(throwing: error) }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return HTTPBody(stream, length: .known(Int64(range.count)), iterationBehavior: .single)
    }
}
