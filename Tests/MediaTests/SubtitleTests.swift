import CFFmpeg
import Core
import Foundation
@testable import Media
import TestSupport
import XCTest

/// Subtitles the output container can carry: text subtitles become `mov_text` in MP4/MOV and
/// `mov_text` becomes SubRip in Matroska, cue for cue with the same texts and times (slow motion
/// stretches them with the video); bitmap subtitles are copied into Matroska and left out of MP4 with
/// the reason.
final class SubtitleTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("subtitles") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A 3 s 64×48 video with `SubtitleCues.cues` as a French default subtitle track in `codec` (ffmpeg's name).
    func source(_ name: String, subtitleCodec codec: String) throws -> String {
        let srt = try SubtitleCues.writeSRT(in: dir), path = "\(dir)/\(name)"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3", "-i", srt,
                                                "-c:v", "libx264", "-c:s", codec, "-metadata:s:s:0", "language=fra",
                                                "-disposition:s:0", "default", path])
        return path
    }

    /// Muxes `seconds × factor` of video with `source`'s streams, slowed down by `factor`.
    func mux(_ source: String, to output: String, factor: Int = 1) throws -> SegmentMuxer.Report {
        let frames = try (0..<(30 * factor)).map { try SyntheticClip.pattern(width: 64, height: 48, index: $0, pts: Int64($0)) }
        let settings = EncoderSettings(codec: "libx264", crf: 30, preset: "ultrafast", pixelFormat: "yuv420p")
        let segment = try ChunkEncoder.encode(frames: frames, settings: settings, timeBase: Rational(1, 10), frameRate: Rational(10, 1),
                                              sampleAspectRatio: Rational(1, 1))
        let stretch = factor > 1 ? SegmentMuxer.AudioStretch(factor: factor, sourceEnd: 3) : nil
        let muxer = try SegmentMuxer(outputPath: output, first: segment.header, audioSource: source, stretch: stretch)
        try muxer.append(segment)
        return try muxer.finish()
    }

    /// The one place that decides: every kind of subtitle codec into each container.
    func testTreatmentOfEachSubtitleKind() throws {
        let bitmapReason = SegmentMuxer.SubtitleTreatment.skip(reason: "bitmap subtitles cannot become mov_text; use .mkv to keep them")
        let table: [(AVCodecID, mp4: SegmentMuxer.SubtitleTreatment, mkv: SegmentMuxer.SubtitleTreatment)] = [
            (AV_CODEC_ID_SUBRIP, .convert(to: AV_CODEC_ID_MOV_TEXT), .copy),
            (AV_CODEC_ID_ASS, .convert(to: AV_CODEC_ID_MOV_TEXT), .copy),
            (AV_CODEC_ID_WEBVTT, .convert(to: AV_CODEC_ID_MOV_TEXT), .copy),
            (AV_CODEC_ID_MICRODVD, .convert(to: AV_CODEC_ID_MOV_TEXT), .convert(to: AV_CODEC_ID_SUBRIP)),
            (AV_CODEC_ID_TEXT, .convert(to: AV_CODEC_ID_MOV_TEXT), .copy),
            (AV_CODEC_ID_MOV_TEXT, .copy, .convert(to: AV_CODEC_ID_SUBRIP)),
            (AV_CODEC_ID_DVD_SUBTITLE, bitmapReason, .copy),
            (AV_CODEC_ID_HDMV_PGS_SUBTITLE, bitmapReason, .copy),
            (AV_CODEC_ID_DVB_SUBTITLE, bitmapReason, .copy),
        ]
        for (format, container) in [("mp4", "mp4"), ("mov", "mov"), ("matroska", "mkv")] {
            let muxer = try XCTUnwrap(av_guess_format(format, nil, nil), format)
            for row in table {
                let name = String(cString: avcodec_get_name(row.0))
                XCTAssertEqual(SegmentMuxer.subtitleTreatment(row.0, into: format, format: muxer), container == "mkv" ? row.mkv : row.mp4,
                               "\(name) → \(container)")
            }
        }
    }

    func testTextSubtitlesBecomeMovTextInMP4AndMOV() throws {
        for (codec, name) in [("srt", "subrip"), ("ass", "ass"), ("webvtt", "webvtt")] {
            let source = try source("\(codec).mkv", subtitleCodec: codec)
            XCTAssertEqual(try SubtitleCues.streams(source), [[name, "1", "fra"]], "the source holds \(name)")
            for container in ["mp4", "mov"] {
                let out = "\(dir)/\(codec).\(container)"
                let report = try mux(source, to: out)
                XCTAssertEqual(report.subtitleStreams, 1, "\(codec) → \(container)")
                XCTAssertEqual(report.convertedSubtitles, ["stream 1 (\(name)) converted to mov_text: \(container) cannot carry \(name)"])
                XCTAssertEqual(report.skippedStreams, [], "\(codec) → \(container)")
                XCTAssertEqual(report.notes, report.convertedSubtitles)
                XCTAssertEqual(try SubtitleCues.streams(out), [["mov_text", "1", "fra"]], "\(codec) → \(container): codec, default, language")
                XCTAssertEqual(try SubtitleCues.read(out), SubtitleCues.srt(), "\(codec) → \(container): every cue's text and times")
            }
        }
    }

    /// Matroska cannot store mov_text: it becomes SubRip there, while MP4 keeps it as it is.
    func testMovTextBecomesSubRipInMatroskaAndIsCopiedIntoMP4() throws {
        let source = try source("movtext.mp4", subtitleCodec: "mov_text")
        XCTAssertEqual(try SubtitleCues.read(source), SubtitleCues.srt(), "the source holds the cues")
        let mkv = "\(dir)/out.mkv"
        let report = try mux(source, to: mkv)
        XCTAssertEqual(report.convertedSubtitles, ["stream 1 (mov_text) converted to subrip: matroska cannot carry mov_text"])
        XCTAssertEqual(report.subtitleStreams, 1)
        XCTAssertEqual(try SubtitleCues.streams(mkv), [["subrip", "1", "fra"]])
        XCTAssertEqual(try SubtitleCues.read(mkv), SubtitleCues.srt())

        let mp4 = "\(dir)/out.mp4"
        let copied = try mux(source, to: mp4)
        XCTAssertEqual(copied.subtitleStreams, 1)
        XCTAssertEqual(copied.notes, [], "a copy needs no note")
        XCTAssertEqual(try SubtitleCues.streams(mp4), [["mov_text", "1", "fra"]])
        XCTAssertEqual(try SubtitleCues.read(mp4), SubtitleCues.srt())
    }

    /// Slow motion ×2 doubles every cue's start and end, converted (SubRip → mov_text) or copied.
    func testSlowMotionDoublesCueTimes() throws {
        let source = try source("srt.mkv", subtitleCodec: "srt")
        XCTAssertNotEqual(SubtitleCues.srt(timesMultipliedBy: 2), SubtitleCues.srt())
        for container in ["mp4", "mkv"] {
            let out = "\(dir)/slow.\(container)"
            let report = try mux(source, to: out, factor: 2)
            XCTAssertEqual(report.subtitleStreams, 1, container)
            XCTAssertEqual(report.convertedSubtitles.count, container == "mp4" ? 1 : 0, container)
            XCTAssertEqual(try MediaChecks.summary(out).duration, 6, accuracy: 1e-3, "\(container): the video lasts twice as long")
            XCTAssertEqual(try SubtitleCues.read(out), SubtitleCues.srt(timesMultipliedBy: 2), "\(container): cue times doubled")
        }
    }

    /// DVD bitmap subtitles: copied into Matroska packet for packet; left out of MP4, saying why.
    func testBitmapSubtitlesAreCopiedIntoMatroskaAndSkippedInMP4WithTheReason() throws {
        let subtitles = "\(dir)/dvd-only.mkv", video = "\(dir)/video.mkv", source = "\(dir)/dvd.mkv"
        try DVDSubtitleClip.write(path: subtitles, width: 64, height: 48, language: "deu",
                                  cues: SubtitleCues.cues.map { DVDSubtitleClip.Cue(startMilliseconds: Int64($0.start), durationMilliseconds: UInt32($0.end - $0.start)) })
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3",
                                                "-c:v", "libx264", video])
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", video, "-i", subtitles, "-map", "0:v", "-map", "1:s",
                                                "-c", "copy", source])
        let sourcePackets = try packets(source)
        XCTAssertEqual(sourcePackets.count, 3, "three bitmap cues: \(sourcePackets)")
        XCTAssertEqual(sourcePackets.map { [$0[0], $0[1]] }, SubtitleCues.cues.map { [String(format: "%.6f", Double($0.start) / 1000),
                                                                              String(format: "%.6f", Double($0.end - $0.start) / 1000)] })

        let mp4 = "\(dir)/dvd.mp4"
        let skipped = try mux(source, to: mp4)
        XCTAssertEqual(skipped.subtitleStreams, 0)
        XCTAssertEqual(skipped.skippedStreams, ["stream 1 (dvd_subtitle) skipped: bitmap subtitles cannot become mov_text; use .mkv to keep them"])
        XCTAssertEqual(skipped.notes, skipped.skippedStreams)
        XCTAssertEqual(try SubtitleCues.streams(mp4), [], "no subtitle track in the MP4")

        let mkv = "\(dir)/dvd-out.mkv"
        let copied = try mux(source, to: mkv)
        XCTAssertEqual(copied.subtitleStreams, 1)
        XCTAssertEqual(copied.notes, [])
        XCTAssertEqual(try SubtitleCues.streams(mkv), [["dvd_subtitle", "0", "deu"]])
        XCTAssertEqual(try packets(mkv), sourcePackets, "the same bitmaps at the same times")
    }

    /// Each subtitle packet's start and duration (seconds) and the MD5 of its bytes.
    func packets(_ path: String) throws -> [[String]] {
        let csv = try MediaChecks.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "s", "-show_data_hash", "MD5",
                                                           "-show_entries", "packet=pts_time,duration_time,data_hash", "-of", "csv=p=0", path])
        return csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    }
}
