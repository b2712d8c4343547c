import Core
import Foundation
import Logging
import Media
import Messaging
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// The assembler verifies frame counts before it marks a job done (DESIGN.md §6; issue 10): a job
/// whose records lost a chunk still passes the finalize gate (its counters agree with each other),
/// but finalize counts the encoded frames against the extracted ones, refuses, dead-letters its
/// message and ends the job failed with that reason — and leaves no output file, whole or partial.
final class FinalizeFrameCountTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("frame-count") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testFinalizeRefusesAJobWithAMissingChunk() async throws {
        // An integration test: without the real store it fails rather than skipping.
        let url = try XCTUnwrap(ProcessInfo.processInfo.environment["REFRAME_REDIS_URL"],
                                "REFRAME_REDIS_URL must point at a running Redis: run the tests with scripts/test.sh")
        let jobs = JobStore(kv: try RedisStore(url: url, connections: 1))
        var settings = StageSettings()
        settings.segmentSeconds = 0.4
        settings.chunkPolicy.maxFrames = 5
        let context = StageContext(bus: InMemoryBus(), jobs: jobs, mediaRoot: dir, logger: Logger(label: "frame-count"), settings: settings)
        let id = UUID().uuidString.lowercased()
        // The job run by hand up to its encode messages.
        let encode = try await HandDriven.encodeMessages(context, id: id, dir: dir, size: (160, 120))
        XCTAssertGreaterThanOrEqual(encode.count, 4, "several chunks")

        // A chunk goes missing: the first segment's record lists one chunk fewer than it was cut
        // into (and the job plans one fewer), so every counter still agrees.
        let lost = try XCTUnwrap(encode.first?.chunk)
        let field = Keys.segmentField(0)
        let recorded = try await jobs.chunkState(id, field: field)
        let segment = try XCTUnwrap(recorded)
        var shorter = segment
        shorter.chunks = segment.chunks?.filter { $0.index != lost.index }
        try await jobs.kv.hashSet(Keys.chunks(id), [field: Array(try JSONEncoder().encode(shorter))])
        let planned = try await jobs.counts(id).chunksPlanned
        try await jobs.kv.hashSet(Keys.job(id), ["count:chunks-planned": Array(String(planned - 1).utf8)])

        // The other chunks are encoded; the last of them announces finalize, as the gate sees all done.
        var finalize: [StageMessage] = []
        for message in encode.dropFirst() {
            finalize += try await EncodeHandler().process(try delivery(message), context: context).next
        }
        XCTAssertEqual(finalize.map(\.stage), [.finalize], "the gate lets the job through to finalize")

        let settled = Settlements()
        let finalizeDelivery = BusDelivery(body: Array(try finalize[0].encoded()), queue: "q", previousDeliveries: 0, headers: [:]) {
            await settled.add($0)
        }
        await StageWorker(handler: FinalizeHandler(), context: context).handle(finalizeDelivery)
        let expected = "encoded \(40 - lost.frameCount) frames, expected 40 from 40 source frames"
        let settlements = await settled.all
        XCTAssertEqual(settlements, [.deadLetter("finalize: \(expected)")], "refused at once, not retried")
        let record = try await jobs.job(id)
        XCTAssertEqual(record?.state, .failed)
        XCTAssertEqual(record?.error, "finalize of job: \(expected)")
        let counts = try await jobs.counts(id)
        XCTAssertEqual(counts.finalized, 0, "no finalize run completed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["in.mp4"], "no output, whole or partial")
        try await jobs.purgeFrames(jobId: id)
        try await jobs.kv.delete([Keys.job(id), Keys.chunks(id), Keys.countedFields(id)])
    }

    func delivery(_ message: StageMessage) throws -> BusDelivery { try testDelivery(message) }
}

/// What a worker did with a delivery.
private actor Settlements {
    var all: [BusDelivery.Settlement] = []
    func add(_ s: BusDelivery.Settlement) { all.append(s) }
}
