import Core
import Foundation
import OpenAPIRuntime
import Pipeline
import Store

/// The operations of openapi.yaml. Jobs are created and cancelled through the same code as the
/// AMQP ingest and `reframe cancel`; a tenant sees only its own jobs.
struct JobAPI: APIProtocol {
    let context: StageContext
    var view: JobView { JobView(mediaRoot: context.mediaRoot) }

    func health(_ input: Operations.Health.Input) async throws -> Operations.Health.Output {
        .ok(.init(body: .plainText("ok\n")))
    }

    func ready(_ input: Operations.Ready.Input) async throws -> Operations.Ready.Output {
        do { _ = try await context.jobs.kv.get("reframe:readyz") } catch {
            throw APIProblem(.serviceUnavailable, "the job store does not answer")
        }
        return .ok(.init(body: .plainText("ready\n")))
    }

    func createJob(_ input: Operations.CreateJob.Input) async throws -> Operations.CreateJob.Output {
        guard case .json(let spec) = input.body else { throw APIProblem(.unsupportedMediaType, "send the job spec as application/json") }
        let body = Array(try JSONEncoder().encode(spec))
        let tenant = try RequestTenant.required()
        try refuseForeignUploads(body, tenant: tenant)
        let chosen = try input.headers.idempotencyKey.map { try IdempotencyKey.jobId(tenant: tenant, key: $0) }
        do {
            let job = try await IngestHandler.submit(specBody: body, tenant: tenant, id: chosen, context: context)
            return .created(.init(headers: .init(location: "/v1/jobs/\(job.id)"),
                                  body: .json(.init(id: job.id, state: view.state(job.state), plan: view.plan(job.plan)))))
        } catch let error as SpecError {
            throw APIProblem(.unprocessableContent, error.message)
        } catch let error as IdempotencyConflict {
            throw APIProblem(.unprocessableContent, error.description)
        }
    }

    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        let tenant = try RequestTenant.required()
        var cursor: JobListing.Cursor?
        if let text = input.query.cursor {
            guard let parsed = JobListing.Cursor(text) else { throw APIProblem(.badRequest, "cursor '\(text)' is not one this API returned") }
            cursor = parsed
        }
        let limit = input.query.limit ?? 20
        guard (1...100).contains(limit) else { throw APIProblem(.badRequest, "limit must be 1 to 100") }
        let state = input.query.state.flatMap { JobState(rawValue: $0.rawValue) }
        let (records, next) = try await JobListing(jobs: context.jobs).page(tenant: tenant, state: state, after: cursor, limit: limit)
        return .ok(.init(body: .json(.init(jobs: records.map(view.summary), nextCursor: next?.text))))
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        let record = try await ownedJob(input.path.id)
        let progress = try await JobProgress.load(record, jobs: context.jobs)
        return .ok(.init(body: .json(view.job(record, progress: progress))))
    }

    func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        let record = try await ownedJob(input.path.id)
        switch try await JobCancellation.cancel(record.id, by: "the API (tenant \(record.tenant ?? "-"))", jobs: context.jobs) {
        case .missing: throw missing(input.path.id)
        case .alreadyEnded(let state): throw APIProblem(.conflict, "job \(record.id) already \(state.rawValue)")
        case .cancelled: break
        }
        guard let updated = try await context.jobs.job(record.id) else { throw missing(input.path.id) }
        let progress = try await JobProgress.load(updated, jobs: context.jobs)
        return .ok(.init(body: .json(view.job(updated, progress: progress))))
    }

    /// A job may read and write only its own tenant's uploads. A spec that does not parse is left to
    /// the ingest, which says what is wrong with it.
    func refuseForeignUploads(_ body: [UInt8], tenant: String) throws {
        guard let spec = try? JobSpec.parse(Data(body)) else { return }
        for (field, path) in [("source", spec.source as String?), ("output", spec.output)] {
            if let path, UploadArea.isForeign(path, tenant: tenant) {
                throw APIProblem(.forbidden, "'\(field)' \(path) is in another tenant's upload folder; use your own uploads/\(tenant)/")
            }
        }
    }

    /// The job, when it exists and belongs to the caller's tenant (jobs submitted over AMQP have none).
    func ownedJob(_ id: String) async throws -> JobRecord {
        guard UUID(uuidString: id) != nil else { throw APIProblem(.badRequest, "job id '\(id)' is not a UUID") }
        let tenant = try RequestTenant.required()
        guard let record = try await context.jobs.job(id.lowercased()) else { throw missing(id) }
        guard record.tenant == tenant else { throw APIProblem(.forbidden, "job \(id) belongs to another tenant") }
        return record
    }

    func missing(_ id: String) -> APIProblem { APIProblem(.notFound, "no job \(id)") }
}
