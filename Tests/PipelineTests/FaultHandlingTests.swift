import AMQP
import Core
import Foundation
import Logging
import Media
import Messaging
@testable import Pipeline
import Redis
import Store
import XCTest

/// Errors classify themselves (transient or permanent) where they are defined, and the worker
/// loop acts on that alone: retry in place, return to the queue, or dead-letter.
final class FaultHandlingTests: XCTestCase {
    struct Unknown: Error {}

    func testErrorsClassifyThemselves() {
        let transient: [any Error] = [
            RedisError.connection("Connection reset by peer"), RedisError.outOfMemory("OOM command not allowed"),
            RedisError.server("LOADING Redis is loading the dataset in memory"), StoreFullError(message: "OOM"),
            AMQPError.connection("socket closed"), AMQPError.timeout("no confirm"), AMQPError.closed,
            MediaError.libav("encode", code: -ENOMEM), BusError.closed, FinalizeBusy(), CancellationError(),
        ]
        let permanent: [any Error] = [
            RedisError.server("WRONGTYPE Operation against a key holding the wrong kind of value"), RedisError.invalidURL("x"),
            AMQPError.invalidURL("x"), StoreError.missing("chunk"), StoreError.corrupt("manifest"),
            MessageError("malformed"), SpecError("bad spec"), PermanentFailure("no plan"), ConfigurationError("bad env"),
            MediaError.invalidData("truncated"), MediaError.libav("open", code: -ENOENT), BusError.unroutable("q"),
            DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x")),
        ]
        for e in transient { XCTAssertTrue(Fault.isTransient(e), "\(e) is transient") }
        for e in permanent { XCTAssertFalse(Fault.isTransient(e), "\(e) is permanent") }
        XCTAssertTrue((transient + permanent).allSatisfy(Fault.isClassified))
        // Unknown errors: transient (a retry is safe and bounded by the delivery limit), flagged as unclassified.
        XCTAssertTrue(Fault.isTransient(Unknown()))
        XCTAssertFalse(Fault.isClassified(Unknown()))
    }

    func testBackoffDoublesUpToItsCap() {
        let b = Backoff(initial: 0.1, maximum: 1, jitter: 0)
        XCTAssertEqual((0..<6).map { b.delay(attempt: $0) }, [0.1, 0.2, 0.4, 0.8, 1, 1])
        XCTAssertEqual(b.delay(attempt: 1000), 1)
        let jittered = Backoff(initial: 1, maximum: 4, jitter: 0.2)
        for _ in 0..<100 { XCTAssert((0.8...1.2).contains(jittered.delay(attempt: 0))) }
    }

    func context(window: Double) -> StageContext {
        var settings = StageSettings()
        settings.transientRetryWindow = window
        settings.transientBackoff = Backoff(initial: 0.01, maximum: 0.05, jitter: 0)
        return StageContext(bus: InMemoryBus(), jobs: JobStore(kv: InMemoryStore()), mediaRoot: NSTemporaryDirectory(),
                            logger: Logger(label: "t"), settings: settings)
    }

    func delivery(_ log: Settlements, previous: Int = 0) throws -> BusDelivery {
        let message = StageMessage(jobId: UUID().uuidString.lowercased(), stage: .extract, segment: 0, next: [.encode])
        return BusDelivery(body: Array(try message.encoded()), queue: "q", previousDeliveries: previous, headers: [:]) { await log.add($0) }
    }

    func testTransientFailuresAreRetriedInPlaceWithoutSpendingADelivery() async throws {
        let log = Settlements()
        let handler = ScriptedHandler(failures: [RedisError.connection("reset"), AMQPError.connection("lost before confirm")])
        await StageWorker(handler: handler, context: context(window: 10)).handle(try delivery(log))
        let attempts = await handler.attempts.value
        XCTAssertEqual(attempts, 3, "two failed tries, then success")
        let settled = await log.entries
        XCTAssertEqual(settled, [.ack], "acked once; never returned to the queue")
    }

    func testTransientFailurePastTheWindowReturnsTheMessage() async throws {
        let log = Settlements()
        let handler = ScriptedHandler(failures: Array(repeating: RedisError.connection("refused"), count: 1000))
        await StageWorker(handler: handler, context: context(window: 0.2)).handle(try delivery(log))
        let settled = await log.entries
        XCTAssertEqual(settled, [.retry])
        let attempts = await handler.attempts.value
        XCTAssertGreaterThan(attempts, 2, "retried in place before giving the message back")
    }

    func testPermanentFailureIsDeadLetteredAtOnce() async throws {
        let log = Settlements()
        let handler = ScriptedHandler(failures: [MediaError.invalidData("no video stream")])
        await StageWorker(handler: handler, context: context(window: 10)).handle(try delivery(log))
        let settled = await log.entries
        XCTAssertEqual(settled, [.deadLetter("extract: invalid data: no video stream")])
        let attempts = await handler.attempts.value
        XCTAssertEqual(attempts, 1)
    }
}

/// Throws the scripted errors in turn, then succeeds.
private struct ScriptedHandler: StageHandler {
    let stage = Stage.extract
    let failures: [any Error & Sendable]
    let attempts = Counter()
    func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let n = await attempts.next()
        if n < failures.count { throw failures[n] }
        return StageOutcome()
    }
}

actor Counter {
    var value = 0
    func next() -> Int { defer { value += 1 }; return value }
}

actor Settlements {
    var entries: [BusDelivery.Settlement] = []
    func add(_ s: BusDelivery.Settlement) { entries.append(s) }
}
