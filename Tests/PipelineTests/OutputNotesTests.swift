import Core
import Foundation
import Logging
import Media
@testable import Pipeline
import Store
import TestSupport
import XCTest

/// What finalize changed about the source's streams reaches the job record as notes a user reads
/// (`reframe status`, `reframe process`), not only the Assembler's log.
final class OutputNotesTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("notes") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A Matroska source with Vorbis audio and a SubRip track, upscaled into an MP4: the job's notes name
    /// the audio stream re-encoded to AAC and the subtitle stream converted to mov_text, whose cues arrive.
    func testJobRecordNotesNameTheConvertedStreams() async throws {
        var o = SyntheticClip.Options()
        o.frames = 90
        o.width = 96
        o.height = 64
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", "\(dir)/clip.mp4", "-i", try SubtitleCues.writeSRT(in: dir),
                                                "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "libvorbis", "-c:s", "srt",
                                                "-metadata:s:s:0", "language=eng", "-disposition:s:0", "default", "\(dir)/in.mkv"])
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: StageSettings(), logger: Logger(label: "test"))
        let id = try await pipeline.run(spec: JobSpec(source: "in.mkv", output: "out.mp4", upscale: UpscaleSpec(factor: 2)), interval: 0.05)

        let expected = ["stream 1 (vorbis) re-encoded to AAC: vorbis does not play in mp4",
                        "stream 2 (subrip) converted to mov_text: mp4 cannot carry subrip"]
        let record = try await pipeline.context.jobs.job(id)
        XCTAssertEqual(record?.state, .done)
        XCTAssertEqual(record?.notes, expected, "the job record")
        let progress = try await JobProgress.load(jobId: id, jobs: pipeline.context.jobs)
        XCTAssertEqual(progress?.notes, expected, "what `reframe status` shows")
        // ffmpeg shifted the source's streams by the video's B-frame delay (3 ms) when it made the
        // Matroska file: the output must keep the source's times, whatever they are.
        let sourceCues = try SubtitleCues.read("\(dir)/in.mkv")
        for cue in SubtitleCues.cues { XCTAssertTrue(sourceCues.contains(cue.text), "the source holds \(cue.text)") }
        XCTAssertEqual(try SubtitleCues.read("\(dir)/out.mp4"), sourceCues, "every cue's text and times")
        XCTAssertEqual(try SubtitleCues.streams("\(dir)/out.mp4"), [["mov_text", "1", "eng"]], "disposition and language kept")
        XCTAssertEqual(try SubtitleCues.streams("\(dir)/in.mkv"), [["subrip", "1", "eng"]], "an English default track")
        XCTAssertEqual(try AudioTrack.decode(path: "\(dir)/out.mp4").codecName, "aac")
    }

    /// A source whose streams all fit the container leaves no notes.
    func testCopiedStreamsLeaveNoNotes() async throws {
        var o = SyntheticClip.Options()
        o.frames = 15
        o.width = 64
        o.height = 48
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: StageSettings(), logger: Logger(label: "test"))
        let id = try await pipeline.run(spec: JobSpec(source: "in.mp4", output: "out.mkv", upscale: UpscaleSpec(factor: 2)), interval: 0.05)
        let record = try await pipeline.context.jobs.job(id)
        XCTAssertEqual(record?.state, .done)
        XCTAssertEqual(record?.notes, [])
        XCTAssertEqual(try MediaChecks.summary("\(dir)/out.mkv").audioStreams, 1, "the AAC track copied")
    }
}
