import Core
import Foundation
import Logging
import Media
import Messaging
@testable import Pipeline
import Store
import TestSupport
import XCTest

/// Redelivery at any step must not duplicate work, bytes or messages (DESIGN.md §6).
final class ExactlyOnceTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("once") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func delivery(_ message: StageMessage) throws -> BusDelivery { try testDelivery(message) }

    func testRedeliveredMessagesRepeatOnlyThePublish() async throws {
        var o = SyntheticClip.Options()
        o.frames = 20
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
        let bus = InMemoryBus()
        let store = InMemoryStore()
        let context = StageContext(bus: bus, jobs: JobStore(kv: store), mediaRoot: dir, logger: Logger(label: "t"))
        let id = UUID().uuidString.lowercased()
        let spec = JobSpec(source: "in.mp4", upscale: UpscaleSpec(factor: 2))
        let ingestDelivery = BusDelivery(body: Array(try JSONEncoder().encode(spec)), queue: "q", previousDeliveries: 0,
                                         headers: [IngestHandler.jobIdHeader: id]) { _ in }
        let ingest1 = try await IngestHandler().process(ingestDelivery, context: context)
        let ingest2 = try await IngestHandler().process(ingestDelivery, context: context)
        XCTAssertEqual(ingest1.next, ingest2.next, "a redelivered spec republishes the same extract messages")

        let extract = try delivery(ingest1.next[0])
        let first = try await ExtractHandler().process(extract, context: context)
        let bytes = try await context.jobs.inFlightBytes(jobId: id)
        let again = try await ExtractHandler().process(extract, context: context)
        XCTAssertEqual(first.next, again.next)
        let bytesAgain = try await context.jobs.inFlightBytes(jobId: id)
        XCTAssertEqual(bytesAgain, bytes, "in-flight bytes are counted once")
        XCTAssertGreaterThan(bytes, 0)

        let up = try delivery(first.next[0])
        let u1 = try await UpscaleHandler().process(up, context: context)
        try await u1.cleanup?()
        // Input deleted after the first run: a redelivery must still succeed from the done mark.
        let u2 = try await UpscaleHandler().process(up, context: context)
        XCTAssertEqual(u1.next, u2.next)
        XCTAssertEqual(u1.next.first?.stage, .encode)
        let manifest = try await context.jobs.manifest(key: u1.next[0].input!)
        XCTAssertEqual([manifest.width, manifest.height], [640, 480])
    }

    func testOnlyOneChunkAnnouncesFinalize() async throws {
        let jobs = JobStore(kv: InMemoryStore())
        let first = try await jobs.claimFinalize(jobId: "j", chunk: 96)
        let other = try await jobs.claimFinalize(jobId: "j", chunk: 48)
        let redelivered = try await jobs.claimFinalize(jobId: "j", chunk: 96)
        XCTAssertEqual([first, other, redelivered], [true, false, true])
    }

    func testTransientErrorOnTheLastAllowedDeliveryFailsTheJobVisibly() async throws {
        let bus = InMemoryBus()
        let jobs = JobStore(kv: InMemoryStore())
        let context = StageContext(bus: bus, jobs: jobs, mediaRoot: dir, logger: Logger(label: "t"))
        let id = UUID().uuidString.lowercased()
        let message = StageMessage(jobId: id, stage: .extract, segment: 0, next: [.encode])
        let settled = SettlementLog()
        for previous in [0, 4] {
            let d = BusDelivery(body: Array(try message.encoded()), queue: "q", previousDeliveries: previous, headers: [:]) { await settled.add($0) }
            await StageWorker(handler: FlakyHandler(), context: context).handle(d)
        }
        let log = await settled.entries
        XCTAssertEqual(log.first, .retry, "a transient error is retried while attempts remain")
        XCTAssertEqual(log.last, .deadLetter("extract: gave up after 5 attempts: connection reset"))
        let state = try await jobs.chunkState(id, field: "s0:extract")
        XCTAssertEqual(state?.state, .failed)
    }

    func testMalformedMessageIsDeadLetteredAndWorkerGoesOn() async throws {
        let bus = InMemoryBus()
        let context = StageContext(bus: bus, jobs: JobStore(kv: InMemoryStore()), mediaRoot: dir, logger: Logger(label: "t"))
        let worker = StageWorker(handler: UpscaleHandler(), context: context)
        let stream = try await bus.consume(context.queue(.upscale), prefetch: 1)
        try await bus.publish(Array("{not json".utf8), to: context.queue(.upscale))
        var iterator = stream.makeAsyncIterator()
        let d = await iterator.next()!
        await worker.handle(d)
        let dead = try await bus.drainDeadLetters(limit: 10)
        XCTAssertEqual(dead.count, 1)
        XCTAssertTrue(dead[0].reason.hasPrefix("upscale: malformed message body"), dead[0].reason)
        XCTAssertEqual(dead[0].deliveries, 1, "dead-lettered on its first delivery")
        // What `reframe dlq` writes back when it puts a letter back reads back the same.
        let again = DeadLetter(fromHeaders: dead[0].headers, body: dead[0].body, routingKey: "elsewhere", brokerDeliveries: nil)
        XCTAssertEqual([again.sourceQueue, again.reason, "\(again.deliveries ?? -1)"], [dead[0].sourceQueue, dead[0].reason, "1"])
        // Unknown job: permanent, dead-lettered with the reason, not retried forever.
        let orphan = StageMessage(jobId: UUID().uuidString, stage: .upscale, chunk: ChunkRef(index: 0, firstFrame: 0, frameCount: 1, lookahead: false),
                                  input: Keys.framesPrefix("x"), next: [.encode])
        try await bus.publish(Array(try orphan.encoded()), to: context.queue(.upscale))
        await worker.handle(await iterator.next()!)
        let dead2 = try await bus.drainDeadLetters(limit: 10)
        XCTAssertEqual(dead2.count, 1)
        XCTAssertTrue(dead2[0].reason.contains("input must be a frames key of its job"), dead2[0].reason)
    }

    func testInMemoryBusRedeliversAndDeadLettersAtTheLimit() async throws {
        let bus = InMemoryBus(deliveryLimit: 3)
        let q = bus.names.queue("encode")
        let stream = try await bus.consume(q, prefetch: 1)
        try await bus.publish([1, 2, 3], to: q)
        var it = stream.makeAsyncIterator()
        for expected in 0..<3 {
            let d = await it.next()!
            XCTAssertEqual(d.previousDeliveries, expected)
            try await d.retry()
        }
        let dead = try await bus.drainDeadLetters(limit: 5)
        XCTAssertEqual(dead.map(\.body), [[1, 2, 3]])
        XCTAssertEqual(dead.first?.reason, "delivery limit 3 reached")
        XCTAssertEqual(dead.first?.deliveries, 3)
        do {
            try await bus.publish([0], to: "nowhere")
            XCTFail("unroutable publish must fail")
        } catch BusError.unroutable(let name) { XCTAssertEqual(name, "nowhere") }
    }

    func testStoreRefusesWhenFullAndJobStoreWaitsForRoom() async throws {
        let store = InMemoryStore(maxBytes: 1000)
        do {
            try await store.set("big", [UInt8](repeating: 0, count: 2000), ttl: nil)
            XCTFail("over maxmemory must be refused")
        } catch is StoreFullError {}
        var jobs = JobStore(kv: store)
        jobs.fullStoreTimeout = 0.3
        let started = Date()
        do {
            let noise = (0..<(64 * 64 * 3 / 2)).map { _ in UInt8.random(in: 0...255) }
            let frame = VideoFrame(width: 64, height: 64, pixelFormat: "yuv420p", data: noise, pts: 0)
            let manifest = ChunkManifest(width: 64, height: 64, pixelFormat: "yuv420p", timeBase: Rational(1, 25), pts: [0], sceneCut: [false],
                                         lookahead: false, endPts: 1)
            try await jobs.putChunk(key: Keys.chunk("j", stage: .extract, chunk: 0), jobId: "j", manifest: manifest, frames: [frame])
            XCTFail("must give up after the timeout")
        } catch is StoreFullError {
            XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.25, "backed off and retried before giving up")
        }
    }
}

/// Fails like a dropped connection would: not the message's fault.
private struct FlakyHandler: StageHandler {
    let stage = Stage.extract
    struct Reset: Error, CustomStringConvertible { var description: String { "connection reset" } }
    func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome { throw Reset() }
}

private actor SettlementLog {
    var entries: [BusDelivery.Settlement] = []
    func add(_ s: BusDelivery.Settlement) { entries.append(s) }
}
