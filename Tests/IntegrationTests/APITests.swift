import AsyncHTTPClient
import Core
import Foundation
import Media
import NIOCore
import NIOHTTP1
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// The HTTP job API of the running Ingest service (ServiceCluster gives it a free port and a
/// tokens file), against real RabbitMQ and Redis: auth, errors as problem documents, limits, and
/// jobs submitted, read, listed and cancelled over HTTP.
final class APITests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!

    override func setUp() async throws {
        dir = try MediaChecks.temporaryDirectory("api")
        var o = SyntheticClip.Options()
        o.frames = 60
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "10",
                                                                     "REFRAME_API_MAX_UPLOAD": String(Self.uploadLimit)])
        try await awaitReady()
    }

    /// Small, so the upload tests can pass it quickly; the clip fits well below it.
    static let uploadLimit = 4 << 20

    override func tearDown() {
        cluster?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: client

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func call(_ method: HTTPMethod, _ path: String, tenant: String? = "alpha", token: String? = nil, body: Data? = nil,
              contentType: String = "application/json", headers: [String: String] = [:]) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(cluster.httpPort)\(path)")
        request.method = method
        if let token = token ?? tenant.flatMap({ cluster.apiTokens[$0] }) { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    func spec(source: String = "clip.mp4", output: String) throws -> Data {
        try JSONEncoder().encode(JobSpec(source: source, output: output, upscale: UpscaleSpec(factor: 2, model: "lanczos"),
                                         encode: EncodeSpec(crf: 0, preset: "ultrafast")))
    }

    /// Ingest has bound its port once /readyz answers.
    func awaitReady() async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? await call(.GET, "/readyz", tenant: nil).status) == 200 { return }
            guard cluster.allRunning else { throw ServiceCluster.Failure.notConfigured("services died: \(cluster.ended)") }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServiceCluster.Failure.notConfigured("Ingest's HTTP API did not answer /readyz within 30 s")
    }

    func assertProblem(_ reply: Reply, _ status: Int, containing words: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
        XCTAssertEqual(reply.headers.first(name: "Content-Type"), "application/problem+json", file: file, line: line)
        XCTAssertEqual(reply.json["status"] as? Int, status, reply.text, file: file, line: line)
        XCTAssertNotNil(reply.json["title"] as? String, reply.text, file: file, line: line)
        if let words { XCTAssertTrue((reply.json["detail"] as? String ?? "").contains(words), reply.text, file: file, line: line) }
    }

    func waitForState(_ id: String, _ states: Set<String>, timeout: Double = 120) async throws -> Reply {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let reply = try await call(.GET, "/v1/jobs/\(id)")
            XCTAssertEqual(reply.status, 200, reply.text)
            if let state = reply.json["state"] as? String, states.contains(state) { return reply }
            guard cluster.allRunning else { throw ServiceCluster.Failure.notConfigured("services died: \(cluster.ended)") }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServiceCluster.Failure.notConfigured("job \(id) not in \(states) within \(Int(timeout)) s")
    }

    // MARK: tests

    func testHealthAuthLimitsAndProblems() async throws {
        let health = try await call(.GET, "/healthz", tenant: nil)
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, "ok\n")

        let anonymous = try await call(.GET, "/v1/jobs", tenant: nil)
        assertProblem(anonymous, 401, containing: "Bearer")
        XCTAssertEqual(anonymous.headers.first(name: "WWW-Authenticate"), "Bearer")
        assertProblem(try await call(.GET, "/v1/jobs", token: "not-a-configured-token"), 401, containing: "not valid")
        assertProblem(try await call(.POST, "/v1/jobs", tenant: nil, body: try spec(output: "x.mp4")), 401)

        assertProblem(try await call(.POST, "/v1/jobs", body: Data("{\"version\": 1, \"source\":".utf8)), 400)
        assertProblem(try await call(.POST, "/v1/jobs", body: Data("[1, 2]".utf8)), 400)
        let huge = Data("{\"version\": 1, \"source\": \"\(String(repeating: "a", count: 100_000))\"}".utf8)
        assertProblem(try await call(.POST, "/v1/jobs", body: huge), 413, containing: "larger than")
        assertProblem(try await call(.POST, "/v1/jobs", body: Data("{\"version\": 1}".utf8)), 422)

        // Paths that would leave the media root are refused by the shared ingest validation.
        assertProblem(try await call(.POST, "/v1/jobs", body: try spec(source: "../clip.mp4", output: "o.mp4")), 422, containing: "'..'")
        assertProblem(try await call(.POST, "/v1/jobs", body: try spec(source: "/etc/passwd", output: "o.mp4")), 422, containing: "absolute")
        assertProblem(try await call(.POST, "/v1/jobs", body: try spec(output: "../escape.mp4")), 422, containing: "'..'")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/outside", withDestinationPath: "/etc")
        assertProblem(try await call(.POST, "/v1/jobs", body: try spec(source: "outside/passwd", output: "o.mp4")), 422,
                      containing: "outside the media root")
        let missing = try await call(.POST, "/v1/jobs", body: try spec(source: "nothing.mp4", output: "o.mp4"))
        assertProblem(missing, 422, containing: "'nothing.mp4'")
        XCTAssertFalse(missing.text.contains(dir), "the media root is not shown to clients: \(missing.text)")

        assertProblem(try await call(.GET, "/v1/jobs/\(UUID().uuidString)"), 404)
        assertProblem(try await call(.DELETE, "/v1/jobs/\(UUID().uuidString)"), 404)
        assertProblem(try await call(.GET, "/v1/jobs/not-a-uuid"), 400)
        assertProblem(try await call(.GET, "/v1/jobs?cursor=bogus"), 400, containing: "cursor")
        assertProblem(try await call(.GET, "/v1/jobs?limit=0"), 400)
        assertProblem(try await call(.GET, "/v1/jobs?state=sleeping"), 400)

        // The `slow` token may make one request per two seconds.
        let first = try await call(.GET, "/v1/jobs", tenant: "slow")
        XCTAssertEqual(first.status, 200)
        let limited = try await call(.GET, "/v1/jobs", tenant: "slow")
        assertProblem(limited, 429, containing: "rate limit")
        XCTAssertNotNil(limited.headers.first(name: "Retry-After").flatMap(Int.init))
        let other = try await call(.GET, "/v1/jobs", tenant: "alpha")
        XCTAssertEqual(other.status, 200, "other tokens are not limited by it")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }

    /// A job submitted over HTTP is the same job as one submitted over AMQP: same plan, same pixels.
    func testJobOverHTTPFinishesLikeTheSameJobOverAMQP() async throws {
        let created = try await call(.POST, "/v1/jobs", body: try spec(output: "http.mp4"))
        XCTAssertEqual(created.status, 201, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)
        XCTAssertEqual(created.headers.first(name: "Location"), "/v1/jobs/\(id)")
        let plan = try XCTUnwrap(created.json["plan"] as? [String: Any])
        XCTAssertEqual(plan["source"] as? String, "clip.mp4")
        XCTAssertEqual(plan["output"] as? String, "http.mp4")
        XCTAssertEqual(plan["sourceFrames"] as? Int, 60)
        XCTAssertEqual(plan["segments"] as? Int, 2)
        XCTAssertEqual(plan["outputWidth"] as? Int, 2 * (plan["width"] as? Int ?? 0))
        XCTAssertEqual(plan["stages"] as? [String], ["upscale", "encode"])

        assertProblem(try await call(.GET, "/v1/jobs/\(id)", tenant: "beta"), 403, containing: "another tenant")
        assertProblem(try await call(.DELETE, "/v1/jobs/\(id)", tenant: "beta"), 403)

        let amqpId = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "amqp.mp4", "--upscale", "2"]
                                         + MediaChecks.losslessEncoding)
        // The event stream runs until the job ends, then closes: collecting its body waits for that.
        let stream = try await call(.GET, "/v1/jobs/\(id)/events")
        XCTAssertEqual(stream.status, 200, stream.text)
        XCTAssertEqual(stream.headers.first(name: "Content-Type"), "text/event-stream")
        let events = stream.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let names = events.compactMap { $0.split(separator: "\n").first { $0.hasPrefix("event:") }.map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(names.last, "end", stream.text)
        XCTAssertEqual(names.filter { $0 == "end" }.count, 1)
        let last = try XCTUnwrap(events.last?.split(separator: "\n").first { $0.hasPrefix("data:") }?.dropFirst(5))
        let final = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(final["state"] as? String, "done", "the stream ends with the job: \(final)")
        XCTAssertNotNil((final["created"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }, "dates as in GET /v1/jobs/{id}: \(final)")
        assertProblem(try await call(.GET, "/v1/jobs/\(id)/events", tenant: "beta"), 403)
        let done = try await waitForState(id, ["done", "failed", "cancelled"])
        XCTAssertEqual(done.json["state"] as? String, "done", done.text)
        XCTAssertEqual(done.json["fraction"] as? Double, 1)
        XCTAssertEqual(done.json["etaSeconds"] as? Double, 0)
        XCTAssertGreaterThan(done.json["fps"] as? Double ?? 0, 0)
        XCTAssertEqual((done.json["failedChunks"] as? [Any])?.count, 0)
        let stages = try XCTUnwrap(done.json["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["stage"] as? String }, ["extract", "upscale", "encode"])
        for stage in stages {
            XCTAssertEqual(stage["framesDone"] as? Int, 60, "\(stage)")
            XCTAssertEqual(stage["framesTotal"] as? Int, 60, "\(stage)")
            XCTAssertEqual(stage["chunksDone"] as? Int, 6, "\(stage)")
        }
        assertProblem(try await call(.DELETE, "/v1/jobs/\(id)"), 409, containing: "already done")

        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        _ = try await cluster.progress(amqpId, jobs) { $0.state.isFinal }
        let amqpJob = try await jobs.job(amqpId)
        XCTAssertEqual(amqpJob?.state, .done)
        XCTAssertNil(amqpJob?.tenant, "AMQP jobs have no tenant")
        assertProblem(try await call(.GET, "/v1/jobs/\(amqpId)"), 403)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/http.mp4", from: "\(dir)/amqp.mp4"), [])
        XCTAssertEqual(try MediaChecks.summary("\(dir)/http.mp4").frameTimes.count, 60)
        XCTAssertGreaterThan(try MediaChecks.worstPSNRAgainstFFmpegLanczos("\(dir)/http.mp4", source: "\(dir)/clip.mp4", factor: 2), 35,
                             "and both are FFmpeg's Lanczos pictures")

        // The output, whole and in ranges.
        let file = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/http.mp4"))
        let whole = try await call(.GET, "/v1/jobs/\(id)/output")
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.body, file)
        XCTAssertEqual(whole.headers.first(name: "Accept-Ranges"), "bytes")
        let middle = try await call(.GET, "/v1/jobs/\(id)/output", headers: ["Range": "bytes=10-109"])
        XCTAssertEqual(middle.status, 206)
        XCTAssertEqual(middle.body, file.subdata(in: 10..<110))
        XCTAssertEqual(middle.headers.first(name: "Content-Range"), "bytes 10-109/\(file.count)")
        let tail = try await call(.GET, "/v1/jobs/\(id)/output", headers: ["Range": "bytes=-50"])
        XCTAssertEqual(tail.status, 206)
        XCTAssertEqual(tail.body, file.suffix(50))
        let outside = try await call(.GET, "/v1/jobs/\(id)/output", headers: ["Range": "bytes=\(file.count)-"])
        assertProblem(outside, 416)
        XCTAssertEqual(outside.headers.first(name: "Content-Range"), "bytes */\(file.count)")
        assertProblem(try await call(.GET, "/v1/jobs/\(id)/output", tenant: "beta"), 403)

        let mine = try await call(.GET, "/v1/jobs?state=done")
        XCTAssertEqual((mine.json["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, [id])
        let running = try await call(.GET, "/v1/jobs?state=running"), beta = try await call(.GET, "/v1/jobs", tenant: "beta")
        // (Other tests' jobs share this Redis: only this job's absence says the filter works.)
        XCTAssertEqual((running.json["jobs"] as? [[String: Any]])?.contains { $0["id"] as? String == id }, false)
        XCTAssertEqual((beta.json["jobs"] as? [[String: Any]])?.contains { $0["id"] as? String == id }, false, "another tenant does not see it")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }

    func testCancelAndPagingOverHTTP() async throws {
        var o = SyntheticClip.Options()
        o.frames = 240
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/long.mp4", options: o)
        var ids: [String] = []
        for n in 0..<3 {
            let created = try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(source: "long.mp4", output: "out\(n).mp4"))
            XCTAssertEqual(created.status, 201, created.text)
            ids.append(try XCTUnwrap(created.json["id"] as? String))
        }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await call(.GET, "/v1/jobs?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), tenant: "beta")
            XCTAssertEqual(page.status, 200, page.text)
            let items = try XCTUnwrap(page.json["jobs"] as? [[String: Any]])
            XCTAssertLessThanOrEqual(items.count, 2)
            seen += items.compactMap { $0["id"] as? String }
            cursor = page.json["nextCursor"] as? String
            pages += 1
        } while cursor != nil && pages < 5
        XCTAssertEqual(pages, 2)
        XCTAssertEqual(seen, ids.reversed(), "newest first, each job once")

        assertProblem(try await call(.GET, "/v1/jobs/\(ids[0])/output", tenant: "beta"), 409, containing: "once it is done")
        for id in ids {
            let cancelled = try await call(.DELETE, "/v1/jobs/\(id)", tenant: "beta")
            XCTAssertEqual(cancelled.status, 200, cancelled.text)
            XCTAssertEqual(cancelled.json["state"] as? String, "cancelled")
            XCTAssertTrue((cancelled.json["error"] as? String ?? "").contains("cancelled by the API"), cancelled.text)
        }
        assertProblem(try await call(.DELETE, "/v1/jobs/\(ids[0])", tenant: "beta"), 409, containing: "already cancelled")
        let listed = try await call(.GET, "/v1/jobs?state=cancelled", tenant: "beta")
        XCTAssertEqual(Set((listed.json["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }), Set(ids))
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}
