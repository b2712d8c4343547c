import Core
import XCTest

final class TimingTests: XCTestCase {
    let tb = Rational(1, 12800)

    func testRationalAndRescale() {
        XCTAssertEqual(Rational(512, 12800), Rational(1, 25))
        XCTAssertEqual(Rational(1, 25) * Rational(5, 1), Rational(1, 5))
        XCTAssertEqual(Rational.approximating(59.94), Rational(60000, 1001))
        XCTAssertEqual(rescale(512, from: tb, to: Rational(1, 25)), 1)
        XCTAssertEqual(rescale(1, from: Rational(1, 3), to: Rational(1, 2)), 1, "0.667 rounds to 1")
        XCTAssertEqual(rescale(Int64.max / 2, from: Rational(1, 2), to: Rational(1, 2)), Int64.max / 2, "128-bit intermediates")
    }

    func testFactorSmoothKeepsDurationAndAddsHeldFramesAtTheEnd() {
        let t = OutputTiming(kind: .factor, factor: 2, sourceTimeBase: tb, sourceStartPts: 0)
        XCTAssertEqual(t.outputTimeBase, Rational(1, 25600))
        let s = t.samples(pts: [0, 512, 1024], nextPts: 1536, hasNext: false, sceneCuts: [])
        XCTAssertEqual(s.map(\.pts), [0, 512, 1024, 1536, 2048, 2560])
        XCTAssertEqual(s.map(\.position), [0, 0.5, 0, 0.5, 0, 0], "the last frame is held: nothing to morph towards")
        // Duration: 6 frames of 512 ticks at 1/25600 = 3 × 1/25 s.
        XCTAssertEqual(t.expectedFrameCount(sourceFrames: 3, startPts: 0, endPts: 1536), 6)
    }

    func testSlowMotionKeepsRateAndStretches() {
        let t = OutputTiming(kind: .factor, factor: 4, slowMotion: true, sourceTimeBase: tb, sourceStartPts: 0)
        XCTAssertEqual(t.outputTimeBase, tb)
        XCTAssertEqual(t.outputFrameRate(sourceRate: Rational(25, 1)), Rational(25, 1))
        let s = t.samples(pts: [0], nextPts: 512, hasNext: true, sceneCuts: [false])
        XCTAssertEqual(s.map(\.pts), [0, 512, 1024, 1536])
        XCTAssertEqual(s.map(\.position), [0, 0.25, 0.5, 0.75])
    }

    func testSceneCutRepeatsNearerFrame() {
        let t = OutputTiming(kind: .factor, factor: 4, sourceTimeBase: tb, sourceStartPts: 0)
        let s = t.samples(pts: [0], nextPts: 512, hasNext: true, sceneCuts: [true])
        XCTAssertEqual(s.map(\.position), [0, 0, 1, 1])
    }

    func testVariableFrameRateUsesEachInterval() {
        let t = OutputTiming(kind: .factor, factor: 2, sourceTimeBase: Rational(1, 1000), sourceStartPts: 0)
        let s = t.samples(pts: [0, 40, 120], nextPts: 130, hasNext: true, sceneCuts: [false, false, false])
        XCTAssertEqual(s.map(\.pts), [0, 40, 80, 160, 240, 250])
    }

    func testTargetRateGrid() {
        // 25 fps source → 60 fps: grid every 1/60 s; chunks own [first, next).
        let t = OutputTiming(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: tb, sourceStartPts: 0)
        let a = t.samples(pts: [0, 512], nextPts: 1024, hasNext: true, sceneCuts: [false, false])
        let b = t.samples(pts: [1024, 1536], nextPts: 2048, hasNext: false, sceneCuts: [false, false])
        XCTAssertEqual(a.map(\.pts), [0, 1, 2, 3, 4])
        XCTAssertEqual(b.map(\.pts), [5, 6, 7, 8, 9])
        XCTAssertEqual(a[1].left, 0)
        XCTAssertEqual(a[1].position, 25.0 / 60.0, accuracy: 1e-9)
        XCTAssertEqual(a[3].left, 1)
        XCTAssertEqual(t.expectedFrameCount(sourceFrames: 4, startPts: 0, endPts: 2048), 10)
    }
}
