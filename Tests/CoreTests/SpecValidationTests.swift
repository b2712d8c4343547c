import Core
import Foundation
import XCTest

final class SpecValidationTests: XCTestCase {
    private func parse(_ json: String) throws -> JobSpec { try JobSpec.parse(Data(json.utf8)) }

    private func assertRejected(_ json: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(json), file: file, line: line) { error in
            XCTAssertEqual((error as? SpecError)?.message, expected, file: file, line: line)
        }
    }

    func testFullSpecParsesWithDefaults() throws {
        let spec = try parse("""
            {"version":1,"source":"archive/tape-0412.mpg","output":"remastered/tape.mp4",
             "upscale":{"factor":2,"model":"lanczos"},
             "interpolate":{"factor":4,"mode":"slowmo","model":"mci","sceneThreshold":0.35},
             "encode":{"codec":"libx265","crf":20,"preset":"slow","pixelFormat":"yuv420p10le"},"priority":7}
            """)
        XCTAssertEqual(spec.upscale, UpscaleSpec(factor: 2, model: "lanczos"))
        XCTAssertEqual(spec.interpolate?.factor, 4)
        XCTAssertEqual(spec.interpolate?.mode, .slowmo)
        XCTAssertEqual(spec.encode.codec, "libx265")
        XCTAssertEqual(spec.priority, 7)
        XCTAssertEqual(spec.effectiveAudio, .drop, "slow motion drops audio unless asked")
    }

    func testNeuralModelsAndNoiseLevels() throws {
        let spec = try parse(#"{"version":1,"source":"a.mp4","upscale":{"factor":2,"model":"waifu2x-photo","noise":3}}"#)
        XCTAssertEqual(spec.upscale, UpscaleSpec(factor: 2, model: "waifu2x-photo", noise: 3))
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","upscale":{"factor":3,"model":"realesr-animevideov3"}}"#).upscale?.factor, 3)
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":3,"model":"waifu2x-photo"}}"#,
                       "upscale factor 3 not supported by 'waifu2x-photo'; use one of 2")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2,"model":"waifu2x-photo","noise":4}}"#,
                       "noise level 4 out of range -1…3 for 'waifu2x-photo'")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2,"model":"realesr-animevideov3","noise":1}}"#,
                       "upscale model 'realesr-animevideov3' takes no 'noise' level")
    }

    func testMinimalSpecGetsDefaults() throws {
        let spec = try parse(#"{"version":1,"source":"a.mp4","interpolate":{"targetFps":59.94}}"#)
        XCTAssertEqual(spec.encode, EncodeSpec())
        XCTAssertEqual(spec.interpolate?.mode, .smooth)
        XCTAssertEqual(spec.interpolate?.model, "rife", "RIFE is the default interpolator (it beats mci on the drop-and-restore benchmark)")
        XCTAssertEqual(spec.effectiveAudio, .copy)
    }

    func testDeinterlaceModes() throws {
        let spec = try JobSpec.parse(Data(#"{"version":1,"source":"a.mpg","interpolate":{"factor":2},"deinterlace":"frame"}"#.utf8))
        XCTAssertEqual(spec.deinterlace, .frame)
        assertRejected(#"{"version":1,"source":"a.mpg","deinterlace":"yes"}"#,
                       "field 'deinterlace' must be one of: auto (when the stream is interlaced), off, frame or field")
        XCTAssertEqual(try JobSpec.parse(Data(#"{"version":1,"source":"a.mpg","deinterlace":"field"}"#.utf8)).deinterlace, .field,
                       "forced deinterlacing alone is a job")
        assertRejected(#"{"version":1,"source":"a.mpg","deinterlace":"auto"}"#, "nothing to do: give 'upscale', 'interpolate' or both")
        XCTAssertEqual(DeinterlaceMode.auto.resolve(.bottomFieldFirst), .bottomFieldFirst)
        XCTAssertNil(DeinterlaceMode.auto.resolve(.progressive), "progressive sources pass untouched")
        XCTAssertNil(DeinterlaceMode.auto.resolve(.unknown))
        XCTAssertNil(DeinterlaceMode.off.resolve(.topFieldFirst))
        XCTAssertEqual(DeinterlaceMode.frame.resolve(.unknown), .topFieldFirst)
        XCTAssertEqual(DeinterlaceMode.field.resolve(.bottomFieldFirst), .bottomFieldFirst)
        XCTAssertEqual(DeinterlaceMode.field.resolve(.progressive), .topFieldFirst, "forced: a source that does not say is taken as TFF")
        XCTAssertTrue(DeinterlaceMode.field.isFieldRate)
        XCTAssertFalse(DeinterlaceMode.frame.isFieldRate)
    }

    /// idet's counts make a verdict only on a clear (two-thirds) majority of the decided frames.
    func testInterlaceDetectionVerdict() {
        func verdict(_ tff: Int, _ bff: Int, _ progressive: Int, _ undetermined: Int = 0) -> FieldOrder? {
            InterlaceDetection(frames: tff + bff + progressive + undetermined, topFieldFirst: tff, bottomFieldFirst: bff,
                               progressive: progressive, undetermined: undetermined).verdict
        }
        XCTAssertEqual(verdict(200, 0, 0), .topFieldFirst, "woven fields, top first")
        XCTAssertEqual(verdict(0, 150, 40, 10), .bottomFieldFirst, "bottom first with some still frames")
        XCTAssertEqual(verdict(0, 17, 158, 25), .progressive)
        XCTAssertNil(verdict(48, 44, 8), "progressive fine detail reads as both parities: no verdict")
        XCTAssertNil(verdict(109, 83, 9), "a majority of the parities but not a clear one")
        XCTAssertNil(verdict(0, 0, 0, 200), "a still picture says nothing")
        XCTAssertNil(verdict(9, 0, 0, 191), "too few decided frames")
        XCTAssertEqual(verdict(134, 0, 67), .topFieldFirst, "exactly two thirds is clear")
        XCTAssertNil(verdict(133, 0, 67))
    }

    func testExactErrors() {
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"colour":"red"}"#,
                       "unknown field 'colour'; allowed: audio, deinterlace, encode, interpolate, output, priority, source, upscale, version")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"fator":2}}"#, "unknown field 'upscale.fator'; allowed: factor, model, noise")
        assertRejected(#"{"source":"a.mp4","upscale":{"factor":2}}"#, "missing field 'version' (use 1)")
        assertRejected(#"{"version":2,"source":"a.mp4","upscale":{"factor":2}}"#, "unsupported version 2; this ingest accepts version 1")
        assertRejected(#"{"version":1,"upscale":{"factor":2}}"#, "missing field 'source'")
        assertRejected(#"{"version":1,"source":"/etc/passwd","upscale":{"factor":2}}"#,
                       "'source' must be relative to the media root, not absolute: /etc/passwd")
        assertRejected(#"{"version":1,"source":"a/../../b.mp4","upscale":{"factor":2}}"#, "'source' must not contain '..': a/../../b.mp4")
        assertRejected(#"{"version":1,"source":"a.mp4"}"#, "nothing to do: give 'upscale', 'interpolate' or both")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":5}}"#, "upscale factor 5 not supported by 'lanczos'; use one of 2, 3, 4")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2,"model":"magic"}}"#, "unknown upscale model 'magic'; available: lanczos, realesr-animevideov3, realesrgan-x4plus, waifu2x-photo")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":"2"}}"#, "field 'upscale.factor' must be an integer")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"factor":3}}"#, "interpolate factor 3 not supported by 'rife'; use 2, 4, 8")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"model":"dain"}}"#, "unknown interpolate model 'dain'; available: blend, mci, rife")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2,"model":"rife"}}"#,
                       "unknown upscale model 'rife'; available: lanczos, realesr-animevideov3, realesrgan-x4plus, waifu2x-photo")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"targetFps":60}}"#, "interpolate takes 'factor' or 'targetFps', not both")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"targetFps":60,"mode":"slowmo"}}"#, "targetFps works in smooth mode only; use 'factor' for slowmo")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"mode":"fast"}}"#,
                       "field 'interpolate.mode': Cannot initialize InterpolationMode from invalid String value fast")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"encode":{"crf":60}}"#, "crf 60 out of range for libx264 (0…51)")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"encode":{"codec":"mpeg2video"}}"#,
                       "unsupported codec 'mpeg2video'; use libsvtav1, libx264, libx265")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"output":"out.avi"}"#, "output 'out.avi' must end in .mp4, .mkv or .mov")
        assertRejected(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"mode":"slowmo"},"audio":"strech"}"#,
                       "unknown audio mode 'strech'; use copy, drop or stretch (slow motion: time-stretched, pitch kept)")
        assertRejected("[1,2]", "spec must be a JSON object")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"priority":12}"#, "priority must be 0…9, got 12")
    }

    /// `stretch` is accepted wherever audio is (a plain copy when the duration is kept); anything else
    /// is refused with the choices.
    func testAudioModes() throws {
        let slowmo = try parse(#"{"version":1,"source":"a.mp4","interpolate":{"factor":4,"mode":"slowmo"},"audio":"stretch"}"#)
        XCTAssertEqual(slowmo.audio, .stretch)
        XCTAssertEqual(slowmo.effectiveAudio, .stretch)
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2},"audio":"stretch"}"#).effectiveAudio, .stretch)
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":"stretch"}"#).effectiveAudio, .stretch)
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"mode":"slowmo"},"audio":"copy"}"#).effectiveAudio, .copy)
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":"drop"}"#).effectiveAudio, .drop)
        XCTAssertNoThrow(try JobSpec(source: "a.mp4", interpolate: InterpolateSpec(factor: 8, mode: .slowmo), audio: .stretch).validate())
        let choices = "copy, drop or stretch (slow motion: time-stretched, pitch kept)"
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":"Stretch"}"#, "unknown audio mode 'Stretch'; use \(choices)")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":""}"#, "unknown audio mode ''; use \(choices)")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":2}"#, "field 'audio' must be a string: \(choices)")
        XCTAssertEqual(try parse(#"{"version":1,"source":"a.mp4","interpolate":{"factor":2,"mode":"slowmo"},"audio":null}"#).effectiveAudio, .drop,
                       "null is the default")
        assertRejected(#"{"version":1,"source":"a.mp4","upscale":{"factor":2},"audio":{"mode":"stretch"}}"#, "field 'audio' must be a string: \(choices)")
    }

    func testMessagesNameFilesRelativeToTheMediaRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("root-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let link = root + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root)
        defer { try? FileManager.default.removeItem(atPath: link) }
        XCTAssertEqual(MediaPath.relative("open \(root)/in/a.mp4: Invalid data found", under: root), "open in/a.mp4: Invalid data found")
        XCTAssertEqual(MediaPath.relative("open \(root)/x.mpg and \(root)/y.mp4", under: link + "/"), "open x.mpg and y.mp4",
                       "the root as configured (a link, a trailing slash) or as resolved")
        XCTAssertEqual(MediaPath.relative("no path here", under: root), "no path here")
    }

    func testMediaPathStaysInsideRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(try MediaPath.resolve("in/a.mp4", under: root, field: "source"),
                       URL(fileURLWithPath: root).resolvingSymlinksInPath().path + "/in/a.mp4")
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "/etc")
        XCTAssertThrowsError(try MediaPath.resolve("escape/passwd", under: root, field: "source")) { error in
            XCTAssertEqual((error as? SpecError)?.message, "'source' resolves outside the media root: escape/passwd")
        }
    }
}
