import Core
@testable import Enhance
import Foundation
import Media
import TestSupport
import XCTest

/// `mci` renders exactly the in-betweens the samples need, at their exact positions: target-rate
/// conversion against FFmpeg's own CLI, factor modes against minterpolate on the normalised timeline,
/// and the number of frames the filter interpolates.
final class MotionCompensatedTargetRateTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("mci-rate") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    static let filterOptions = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none"

    /// The first `count` frames of the real PAL footage (720×576, 25 fps), yuv420p.
    func footage(_ count: Int) throws -> (frames: [VideoFrame], timeBase: Rational) {
        let path = MediaChecks.realFootage("balle-jbart.mp4")
        struct Missing: Error, CustomStringConvertible { var description: String }
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "\(path) missing: scripts/fetch-media.sh fetches it (the test command runs it)")
        }
        struct Enough: Error {}
        var frames: [VideoFrame] = []
        do {
            try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { f in
                frames.append(f)
                if frames.count == count { throw Enough() }
            }
        } catch is Enough {}
        return (frames, try MediaProbe.probe(path: path).video.timeBase)
    }

    /// Samples of a chunk: all frames but the last are its own, the last is the lookahead.
    func samples(_ timing: OutputTiming, _ frames: [VideoFrame], cuts: [Bool] = []) -> [OutputTiming.Sample] {
        timing.samples(pts: frames.dropLast().map(\.pts), nextPts: frames.last!.pts, hasNext: true, sceneCuts: cuts)
    }

    func mci(_ f: VideoFrame) -> MotionCompensatedInterpolator {
        MotionCompensatedInterpolator(width: f.width, height: f.height, pixelFormat: f.pixelFormat)
    }

    /// The ffmpeg CLI on raw frames at `rate` fps: `-vf minterpolate=fps=F:…`, every output frame by its
    /// index on the output grid (time · F).
    func ffmpegCLI(_ frames: [VideoFrame], rate: Int, fps: Int) throws -> [Int: VideoFrame] {
        let f = frames[0]
        let raw = "\(dir)/in.yuv", out = "\(dir)/out.nut"
        FileManager.default.createFile(atPath: raw, contents: Data(frames.flatMap(\.data)))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", f.pixelFormat, "-s", "\(f.width)x\(f.height)",
                             "-r", String(rate), "-i", raw, "-vf", "minterpolate=fps=\(fps):\(Self.filterOptions)",
                             "-fps_mode", "passthrough", "-c:v", "rawvideo", "-f", "nut", out]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "ffmpeg CLI")
        let timeBase = try MediaProbe.probe(path: out).video.timeBase
        var byIndex: [Int: VideoFrame] = [:]
        for frame in try MediaChecks.frames(out) {
            byIndex[Int((Double(frame.pts) * timeBase.double * Double(fps)).rounded())] = frame
        }
        return byIndex
    }

    /// (a) 25 → 60 fps on real frames: every output is the frame the ffmpeg CLI makes for that instant.
    /// The CLI reads the same frames as raw video at -r 25 (plus one more: it emits an interval only
    /// once the frame after it arrives and flushes nothing at the end), so its alpha is
    /// round(1024·position) like ours and its motion search sees the same history: the chunk's ends
    /// match as well as its middle, so every frame is compared. Identity is the real check: these
    /// frames move little, so even the old positions (snapped to eighths) stayed above 40 dB.
    func testTargetRateMatchesTheFFmpegCLI() throws {
        let (all, timeBase) = try footage(12)
        let chunk = Array(all.prefix(11))  // 10 own frames + lookahead
        let timing = OutputTiming(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: timeBase, sourceStartPts: chunk[0].pts)
        let samples = samples(timing, chunk)
        XCTAssertEqual(samples.count, 24, "10 frames at 25 fps last 24 frames at 60")
        let (out, report) = try mci(chunk[0]).interpolateReporting(frames: chunk, samples: samples)
        XCTAssertEqual(out.map(\.pts), samples.map(\.pts))
        XCTAssertTrue(report.exactPositions)
        let cli = try ffmpegCLI(all, rate: 25, fps: 60)
        var exact = 0
        for (s, frame) in zip(samples, out) {
            guard let reference = cli[Int(s.pts)] else { XCTFail("the CLI made no frame \(s.pts)"); continue }
            let psnr = MediaChecks.psnr(frame.data, reference.data)
            XCTAssertGreaterThanOrEqual(psnr, 40, "output \(s.pts) (frame \(s.left) + \(s.position))")
            if psnr == .infinity { exact += 1 }
        }
        XCTAssertEqual(exact, samples.count, "identical to the CLI, frame for frame")
    }

    /// (b) Factor 2 and 4: the same pictures as minterpolate at fps=F on the normalised timeline (frame i
    /// at time i), which is how these positions were always made; counts and pts unchanged.
    func testFactorModesAreMinterpolateOnTheNormalisedTimeline() throws {
        let (all, timeBase) = try footage(5)
        for factor in [2, 4] {
            let timing = OutputTiming(kind: .factor, factor: factor, sourceTimeBase: timeBase, sourceStartPts: all[0].pts)
            let samples = samples(timing, all)
            XCTAssertEqual(samples.count, 4 * factor)
            let (out, report) = try mci(all[0]).interpolateReporting(frames: all, samples: samples)
            XCTAssertEqual(out.map(\.pts), samples.map(\.pts), "×\(factor)")
            XCTAssertEqual(report.interpolated, 4 * (factor - 1), "×\(factor): only the in-betweens")
            let reference = try normalisedTimeline(all, steps: factor)
            for (s, frame) in zip(samples, out) {
                let j = s.left * factor + Int((s.position * Double(factor)).rounded())
                XCTAssertTrue(frame.data == reference[j]?.data, "×\(factor) frame \(s.left) + \(s.position)")
            }
        }
    }

    /// minterpolate at fps=steps with frame i at time i, the last frame repeated: output j is position j/steps.
    func normalisedTimeline(_ frames: [VideoFrame], steps: Int) throws -> [Int: VideoFrame] {
        let f = frames[0]
        let graph = try FilterGraph(filters: "minterpolate=fps=\(steps):\(Self.filterOptions)", width: f.width, height: f.height,
                                    pixelFormat: f.pixelFormat, timeBase: Rational(1, 1))
        var out: [Int: VideoFrame] = [:]
        for (i, frame) in (frames + [frames.last!]).enumerated() {
            var g = frame
            g.pts = Int64(i)
            try graph.push(g)
            for o in try graph.pull() { out[Int(o.pts)] = o }
        }
        return out
    }

    /// (c) The filter interpolates exactly the in-betweens the samples need: at 25 → 60 fps, 22 of
    /// every 24 outputs in 10 frames (two fall on real frames), not 7 per interval.
    func testTheFilterRendersOnlyTheNeededInBetweens() throws {
        let (all, timeBase) = try footage(11)
        let timing = OutputTiming(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: timeBase, sourceStartPts: all[0].pts)
        let samples = samples(timing, all)
        let inBetweens = samples.filter { $0.position != 0 && $0.position != 1 }.count
        XCTAssertEqual(inBetweens, 22)
        let (out, report) = try mci(all[0]).interpolateReporting(frames: all, samples: samples)
        XCTAssertEqual(out.count, samples.count)
        XCTAssertEqual(report.needed, inBetweens)
        XCTAssertEqual(report.interpolated, inBetweens, "frames minterpolate interpolated")
        XCTAssertLessThanOrEqual(report.emitted - report.interpolated, 4, "the rest are copies of real frames")
    }

    /// A scene cut inside the chunk: its in-betweens repeat the nearer real frame, untouched, and every
    /// other output is the very picture the uncut chunk gets (the cut interval is squeezed on the
    /// filter's timeline; motion search does not look at timestamps). At most one extra frame rendered.
    func testSceneCutsKeepRealFramesAndTheRestUnchanged() throws {
        let (all, timeBase) = try footage(9)
        let timing = OutputTiming(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: timeBase, sourceStartPts: all[0].pts)
        let plain = samples(timing, all)
        var cuts = [Bool](repeating: false, count: 8)
        cuts[3] = true  // frame 4 starts a new scene
        let cut = samples(timing, all, cuts: cuts)
        XCTAssertEqual(cut.map(\.pts), plain.map(\.pts))
        let interpolator = mci(all[0])
        let (a, _) = try interpolator.interpolateReporting(frames: all, samples: plain)
        let (b, report) = try interpolator.interpolateReporting(frames: all, samples: cut)
        XCTAssertEqual(b.map(\.pts), cut.map(\.pts))
        let inBetweens = cut.filter { $0.position != 0 && $0.position != 1 }.count
        XCTAssertLessThanOrEqual(report.interpolated, inBetweens + 1)
        for (i, s) in cut.enumerated() {
            if s.left == 3 {
                XCTAssertTrue(s.position == 0 || s.position == 1)
                XCTAssertTrue(b[i].data == all[s.position == 0 ? 3 : 4].data, "cut: the real frame")
            } else {
                XCTAssertTrue(b[i].data == a[i].data, "output \(s.pts) as without the cut")
            }
        }
    }

    /// The timeline itself (no filter): 25 → 60 is a lattice of period 5/12 frame; NTSC 24000/1001 → 60
    /// of period 400/1001; factor 8 of 1/8. Every in-between lands on the grid with minterpolate's
    /// weight round(1024·position), and the grid points inside the intervals are exactly the
    /// in-betweens: with scene cuts too in factor mode, at most one more at a lone cut otherwise.
    func testTimelinePutsEveryInBetweenOnTheGrid() throws {
        var cuts = [Bool](repeating: false, count: 41)
        cuts[10] = true
        cuts[20] = true
        cuts[21] = true
        let cases: [(OutputTiming, Rational, Int64, [Bool], Int)] = [
            (.init(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: Rational(1, 12800), sourceStartPts: 1234), Rational(1, 12800), 512, [], 0),
            (.init(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: Rational(1, 24000), sourceStartPts: 1234), Rational(1, 24000), 1001, [], 0),
            (.init(kind: .targetRate, targetRate: Rational(50, 1), sourceTimeBase: Rational(1, 90000), sourceStartPts: 1234), Rational(1, 90000), 3600, [], 0),
            (.init(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: Rational(1, 12800), sourceStartPts: 1234), Rational(1, 12800), 512, cuts, 2),
            (.init(kind: .factor, factor: 2, sourceTimeBase: Rational(1, 12800), sourceStartPts: 1234), Rational(1, 12800), 512, cuts, 0),
            (.init(kind: .factor, factor: 4, sourceTimeBase: Rational(1, 12800), sourceStartPts: 1234), Rational(1, 12800), 512, cuts, 0),
            (.init(kind: .factor, factor: 8, slowMotion: true, sourceTimeBase: Rational(1, 12800), sourceStartPts: 1234), Rational(1, 12800), 512, cuts, 0),
        ]
        for (timing, source, frameTicks, cuts, extra) in cases {
            let name = "\(timing.kind) \(timing.factor) \(source), \(cuts.isEmpty ? "no cuts" : "cuts")"
            let pts = (0..<48).map { 1234 + Int64($0) * frameTicks }
            let samples = timing.samples(pts: Array(pts.dropFirst(7)), nextPts: pts.last! + frameTicks, hasNext: true, sceneCuts: cuts)
            let synth = samples.filter { $0.position != 0 && $0.position != 1 }.map { MCITimeline.InBetween(left: $0.left, position: $0.position, pts: $0.pts) }
            let timeline = try MCITimeline(synth)
            XCTAssertTrue(timeline.exactPositions, name)
            for (s, pick) in zip(synth, timeline.picks) {
                guard case .output(let k) = pick else { XCTFail("in-between picked a real frame"); continue }
                XCTAssertTrue(timeline.isInterpolated(outputPts: k))
                // Where the filter will put it: alpha = ⌊1024·(k·G − t₁)/(t₂ − t₁)⌋ = round(1024·position).
                let (t1, t2) = (timeline.ticks[s.left], timeline.ticks[s.left + 1])
                XCTAssertEqual(1024 * (k * timeline.grid - t1) / (t2 - t1), Int64((1024 * s.position).rounded()), name)
            }
            // Grid points strictly inside the pushed intervals (what the filter interpolates).
            let first = timeline.ticks[0] / timeline.grid, last = timeline.ticks[timeline.lastFrame] / timeline.grid
            let rendered = (first...last).filter { timeline.isInterpolated(outputPts: $0) }.count
            XCTAssertEqual(Set(timeline.picks).count, synth.count, name)
            XCTAssertGreaterThanOrEqual(rendered, synth.count, name)
            XCTAssertLessThanOrEqual(rendered, synth.count + extra, name)
        }
    }

    /// A variable-rate source at a target rate: no lattice, so the frames keep their own timestamps and
    /// the filter renders the target grid itself, exactly the in-betweens, each identical to the picture
    /// minterpolate makes at fps=60 on those timestamps.
    func testVariableRateSourceRendersItsOwnGrid() throws {
        let frames = try (0..<13).map { i in
            try SyntheticClip.pattern(width: 160, height: 120, index: i * 3, pts: Int64(i) * 512 + (i % 3 == 1 ? 37 : 0) + (i > 6 ? 90 : 0))
        }
        let timing = OutputTiming(kind: .targetRate, targetRate: Rational(60, 1), sourceTimeBase: Rational(1, 12800), sourceStartPts: 0)
        let samples = samples(timing, frames)
        let inBetweens = samples.filter { $0.position != 0 && $0.position != 1 }.count
        let (out, report) = try mci(frames[0]).interpolateReporting(frames: frames, samples: samples)
        XCTAssertEqual(out.map(\.pts), samples.map(\.pts))
        XCTAssertTrue(report.exactPositions)
        XCTAssertEqual(report.needed, inBetweens)
        XCTAssertEqual(report.interpolated, inBetweens)
        // minterpolate itself at fps=60 on the frames' own time base 1/12800 (last frame repeated).
        let graph = try FilterGraph(filters: "minterpolate=fps=60:\(Self.filterOptions)", width: 160, height: 120, pixelFormat: "yuv420p",
                                    timeBase: Rational(1, 12800))
        var reference: [Int64: VideoFrame] = [:]
        for f in frames + [{ var g = frames.last!; g.pts += 512; return g }()] {
            try graph.push(f)
            for o in try graph.pull() { reference[o.pts] = o }
        }
        for (s, frame) in zip(samples, out) {
            guard let r = reference[s.pts] else { XCTFail("no reference frame \(s.pts)"); continue }
            XCTAssertTrue(frame.data == r.data, "output \(s.pts)")
        }
    }

    /// Positions that share no small lattice and match no frame timestamps still give one frame per
    /// sample, snapped to eighths as before (and, as before, the eighths of their intervals are rendered).
    func testIrregularPositionsStillGiveEveryFrame() throws {
        let frames = try (0..<4).map { try SyntheticClip.pattern(width: 64, height: 48, index: $0 * 4, pts: Int64($0)) }
        let samples = [OutputTiming.Sample(pts: 0, left: 0, position: 0.3183098861837907), OutputTiming.Sample(pts: 1, left: 1, position: 0.7071067811865476),
                       OutputTiming.Sample(pts: 2, left: 2, position: 0.1414213562373095), OutputTiming.Sample(pts: 3, left: 2, position: 0.99999)]
        let (out, report) = try mci(frames[0]).interpolateReporting(frames: frames, samples: samples)
        XCTAssertFalse(report.exactPositions)
        XCTAssertEqual(out.map(\.pts), [0, 1, 2, 3])
        XCTAssertTrue(out[3].data == frames[3].data, "within 1/2048 of the next frame: that frame")
        XCTAssertEqual(report.needed, 3)
        XCTAssertLessThanOrEqual(report.interpolated, 3 * 7)
    }
}
