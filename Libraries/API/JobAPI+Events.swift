import Foundation
import OpenAPIRuntime
import Pipeline
import Store

extension JobAPI {
    /// How often the stream looks at the job: progress moves at chunk granularity, so twice a
    /// second shows every change without loading the store per watcher.
    static let eventInterval: UInt64 = 500_000_000

    /// Dates as in every other answer (ISO 8601, as the contract says); the runtime's default
    /// encoder would write seconds since 2001.
    static var eventEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Progress as server-sent events, ending with the job: a client needs no polling loop and
    /// knows the job ended when the stream does.
    func jobEvents(_ input: Operations.JobEvents.Input) async throws -> Operations.JobEvents.Output {
        let id = try await ownedJob(input.path.id).id
        let (jobs, view) = (context.jobs, view)
        let events = AsyncThrowingStream<ServerSentEventWithJSONData<Components.Schemas.Job>, any Error> { continuation in
            let task = Task {
                var last: Components.Schemas.Job?
                do {
                    while !Task.isCancelled {
                        guard let record = try await jobs.job(id) else { break }
                        let progress = try await JobProgress.load(record, jobs: jobs)
                        let job = view.job(record, progress: progress)
                        if record.state.isFinal {
                            continuation.yield(.init(event: "end", data: job, id: record.state.rawValue))
                            break
                        }
                        if job != last { continuation.yield(.init(event: "progress", data: job)) }
                        last = job
                        try await Task.sleep(nanoseconds: Self.eventInterval)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return .ok(.init(body: .textEventStream(HTTPBody(events.asEncodedServerSentEventsWithJSONData(encoder: Self.eventEncoder),
                                                         length: .unknown, iterationBehavior: .single))))
    }
}
