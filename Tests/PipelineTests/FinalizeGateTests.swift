import Core
import Foundation
import Logging
import Media
import Messaging
@testable import Pipeline
import Store
import TestSupport
import XCTest

/// The finalize gate counts each encoded chunk once, however often its message is redelivered, and
/// finalize does its work once per job; a failed chunk lets the others finish, then fails the job.
final class FinalizeGateTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("gate") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func delivery(_ message: StageMessage) throws -> BusDelivery { try testDelivery(message) }

    /// A job of several segments and chunks, run by hand up to its encode messages.
    func encodeMessages(_ context: StageContext, id: String) async throws -> [StageMessage] {
        try await HandDriven.encodeMessages(context, id: id, dir: dir)
    }

    func context() -> StageContext {
        var settings = StageSettings()
        settings.segmentSeconds = 0.4
        settings.chunkPolicy.maxFrames = 5
        return StageContext(bus: InMemoryBus(), jobs: JobStore(kv: InMemoryStore()), mediaRoot: dir, logger: Logger(label: "t"), settings: settings)
    }

    func testRedeliveredEncodesCountOnceAndFinalizeRunsOnce() async throws {
        let context = context()
        let id = UUID().uuidString.lowercased()
        let encode = try await encodeMessages(context, id: id)
        XCTAssertGreaterThanOrEqual(encode.count, 6, "several chunks")
        var announcers: [Int] = []
        // Every encode message delivered twice (the second a redelivery after its work was recorded).
        for message in encode + encode {
            let outcome = try await EncodeHandler().process(try delivery(message), context: context)
            if outcome.next.contains(where: { $0.stage == .finalize }) { announcers.append(message.chunk!.index) }
        }
        let counts = try await context.jobs.counts(id)
        XCTAssertEqual(counts.chunksEncoded, encode.count, "each chunk counted once")
        XCTAssertEqual(counts.chunksPlanned, encode.count)
        XCTAssertEqual(Set(announcers).count, 1, "only one chunk announces finalize (again only on its own redelivery)")
        XCTAssertEqual(announcers.first, encode.last?.chunk?.index, "the last chunk encoded announces it")

        let finalize = try delivery(StageMessage(jobId: id, stage: .finalize))
        _ = try await FinalizeHandler().process(finalize, context: context)
        let state = try await context.jobs.job(id)?.state
        XCTAssertEqual(state, .done, "the first finalize does the work")
        let finalized = try await context.jobs.counts(id).finalized
        XCTAssertEqual(finalized, 1, "one finalize run completed")
        let written = try FileManager.default.attributesOfItem(atPath: "\(dir)/out.mp4")[.systemFileNumber] as? Int
        XCTAssertEqual(try MediaChecks.summary("\(dir)/out.mp4").frameCount, 40)
        let left = try await context.jobs.kv.keys(prefix: Keys.framesPrefix(id))
        XCTAssertEqual(left, [], "its frames are deleted before its message is acked")
        let second = try await FinalizeHandler().process(finalize, context: context)
        XCTAssertTrue(second.next.isEmpty && second.cleanup == nil)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: "\(dir)/out.mp4")[.systemFileNumber] as? Int, written,
                       "a second finalize finds the job done and leaves the output alone")
        let finalizedAgain = try await context.jobs.counts(id).finalized
        XCTAssertEqual(finalizedAgain, 1)
    }

    /// A finalizer SIGKILLed after marking the job done, before it deleted the job's frames and its
    /// lock: its message comes back, and the redelivery deletes them (the kill storm found them left).
    func testARedeliveredFinalizeOfADoneJobDeletesWhatItsKilledFinalizerLeft() async throws {
        let context = context()
        let id = UUID().uuidString.lowercased()
        _ = try await encodeMessages(context, id: id)
        let frames = try await context.jobs.kv.keys(prefix: Keys.framesPrefix(id))
        XCTAssertFalse(frames.isEmpty, "the job's chunks are in the store")
        let locked = try await context.jobs.acquireFinalizeLock(jobId: id, owner: "killed", ttl: 900)
        XCTAssertTrue(locked)
        try await context.jobs.setState(id, .done)

        _ = try await FinalizeHandler().process(try delivery(StageMessage(jobId: id, stage: .finalize)), context: context)
        let left = try await context.jobs.kv.keys(prefix: Keys.framesPrefix(id))
        XCTAssertEqual(left, [])
        let lock = try await context.jobs.kv.get(Keys.finalizeLock(id))
        XCTAssertNil(lock, "the dead finalizer's lock is released")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out.mp4"), "the job is not finalized again")
    }

    func testAFailedChunkLetsTheOthersFinishThenFailsTheJob() async throws {
        let context = context()
        let id = UUID().uuidString.lowercased()
        let encode = try await encodeMessages(context, id: id)
        let poisoned = encode[1]
        let log = Settlements()
        let bad = BusDelivery(body: Array(try poisoned.encoded()), queue: "q", previousDeliveries: 0, headers: [:]) { await log.add($0) }
        await StageWorker(handler: PoisonedEncode(), context: context).handle(bad)
        var state = try await context.jobs.job(id)?.state
        XCTAssertEqual(state, .running, "the other chunks go on")
        var announced = false
        for message in encode where message != poisoned {
            announced = try await EncodeHandler().process(try delivery(message), context: context).next.contains { $0.stage == .finalize } || announced
        }
        XCTAssertFalse(announced, "no finalize for a job with a failed chunk")
        let record = try await context.jobs.job(id)
        XCTAssertEqual(record?.state, .failed, "the last chunk to end fails the job")
        XCTAssertEqual(record?.error, "encode of chunk \(poisoned.chunk!.index): bad chunk")
        let chunk = try await context.jobs.chunkState(id, field: Keys.chunkField(poisoned.chunk!.index, .encode))
        XCTAssertEqual(chunk, ChunkState(state: .failed, frames: 0, error: "bad chunk"))
        state = record?.state
        _ = state
    }
}

private struct PoisonedEncode: StageHandler {
    let stage = Stage.encode
    func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome { throw PermanentFailure("bad chunk") }
}
