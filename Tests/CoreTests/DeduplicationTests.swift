import Core
import XCTest

final class DeduplicationTests: XCTestCase {
    func sample(_ left: Int, _ position: Double) -> OutputTiming.Sample { OutputTiming.Sample(pts: 0, left: left, position: position) }

    /// Animation on twos (A A B B C): the in-betweens follow A → B → C on the distinct frames' timeline.
    func testDrawingsOnTwosAreInterpolatedOverTheRealMotion() {
        let pts: [Int64] = [0, 1, 2, 3, 4]
        let dup = [false, true, false, true, false]
        let samples = [sample(0, 0), sample(0, 0.5), sample(1, 0), sample(1, 0.5), sample(2, 0), sample(3, 0.5)]
        let (keys, out) = Deduplication.apply(samples: samples, pts: pts, endPts: 5, duplicate: dup, sceneCut: [Bool](repeating: false, count: 5))
        XCTAssertEqual(keys, [0, 2, 4])
        XCTAssertEqual(out.map(\.left), [0, 0, 0, 0, 1, 1])
        XCTAssertEqual(out.map(\.position), [0, 0.25, 0.5, 0.75, 0, 0.75])
    }

    /// No morph across a cut that ends a held picture: the nearer real frame is shown.
    func testACutAfterAHeldPictureIsNotMorphedAcross() {
        let (keys, out) = Deduplication.apply(samples: [sample(0, 0.5), sample(1, 0.5)], pts: [0, 1, 2], endPts: 3,
                                              duplicate: [false, true, false], sceneCut: [false, false, true])
        XCTAssertEqual(keys, [0, 2])
        XCTAssertEqual(out.map(\.position), [0, 1], "t = 0.5 shows A, t = 1.5 shows the new scene")
    }

    /// A run longer than maxRun is a static shot: it is held, and only its last interval moves.
    func testLongRunsAreHeldNotStretched() {
        let n = 8
        let dup = [false] + [Bool](repeating: true, count: 6) + [false]
        let samples = (0..<(n - 1)).map { sample($0, 0.5) }
        let (keys, out) = Deduplication.apply(samples: samples, pts: (0..<n).map(Int64.init), endPts: Int64(n), duplicate: dup,
                                              sceneCut: [Bool](repeating: false, count: n), maxRun: 4)
        XCTAssertEqual(keys, [0, 6, 7], "the run's last frame stays a key so the shot's end moves in its own interval")
        XCTAssertEqual(out.prefix(6).map(\.position), [0, 0, 0, 0, 0, 0], "inside the static run: the held picture")
        XCTAssertEqual(out.last.map { [Double($0.left), $0.position] }, [1, 0.5], "the last interval interpolates normally")
    }

    func testNoDuplicatesChangeNothing() {
        let samples = [sample(0, 0.5), sample(1, 0.25)]
        let (keys, out) = Deduplication.apply(samples: samples, pts: [0, 1, 2], endPts: 3, duplicate: [false, false, false],
                                              sceneCut: [false, false, false])
        XCTAssertEqual(keys, [0, 1, 2])
        XCTAssertEqual(out, samples)
    }
}
