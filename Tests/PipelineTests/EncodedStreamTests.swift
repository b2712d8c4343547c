import Core
import Foundation
import Harness
import Logging
import Media
import Pipeline
import TestSupport
import XCTest

/// What the job asked of the encoder is what the stream holds: CRF and preset in the settings
/// x264 and x265 write into their streams, the pixel format and profile for 10-bit, read back with
/// ffprobe from the pipeline's output file.
final class EncodedStreamTests: XCTestCase {
    var dir = ""
    let logger = Logger(label: "test")

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("encoded")
        var o = SyntheticClip.Options()
        (o.frames, o.width, o.height, o.keyframeInterval) = (24, 128, 96, 12)
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func encode(_ encode: EncodeSpec, output: String) async throws -> String {
        var settings = StageSettings()
        settings.segmentSeconds = 0.3
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        _ = try await pipeline.run(spec: JobSpec(source: "in.mp4", output: output, upscale: UpscaleSpec(factor: 2), encode: encode), interval: 0.05)
        return "\(dir)/\(output)"
    }

    /// codec_name, profile, pix_fmt of the output's video stream.
    func stream(_ path: String) throws -> [String] {
        try MediaChecks.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,pix_fmt",
                                                 "-of", "default=nw=1", path])
            .split(separator: "\n").map(String.init)
    }

    /// The encoder's own record of its settings ("key=value" words after "options:"), from the stream's bytes.
    func encoderSettings(_ path: String, marker: String) throws -> [String: String] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let start = bytes.range(of: Data(marker.utf8)) else { return [:] }
        let tail = bytes[start.lowerBound...].prefix(4096)
        let text = String(decoding: tail.prefix { $0 != 0 }, as: UTF8.self)
        let options = text.components(separatedBy: "options:").dropFirst().first ?? ""
        var pairs: [String: String] = [:]
        for word in options.split(separator: " ") {
            let kv = word.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { pairs[String(kv[0])] = String(kv[1]) }
        }
        return pairs
    }

    func testX264CRFPresetAnd10BitAreInTheStream() async throws {
        let fast = try await encode(EncodeSpec(codec: "libx264", crf: 23, preset: "veryfast", pixelFormat: "yuv420p10le"), output: "x264-10.mp4")
        XCTAssertEqual(try stream(fast), ["codec_name=h264", "profile=High 10", "pix_fmt=yuv420p10le"])
        let a = try encoderSettings(fast, marker: "x264 - core")
        // veryfast is x264's subme 2, one reference, a 10-frame lookahead.
        XCTAssertEqual([a["crf"], a["subme"], a["ref"], a["rc_lookahead"]], ["23.0", "2", "1", "10"], "\(a)")

        let slow = try await encode(EncodeSpec(codec: "libx264", crf: 30, preset: "slow", pixelFormat: "yuv420p"), output: "x264-8.mp4")
        XCTAssertEqual(try stream(slow), ["codec_name=h264", "profile=High", "pix_fmt=yuv420p"])
        let b = try encoderSettings(slow, marker: "x264 - core")
        // slow is subme 8, five references, a 50-frame lookahead.
        XCTAssertEqual([b["crf"], b["subme"], b["ref"], b["rc_lookahead"]], ["30.0", "8", "5", "50"], "\(b)")
    }

    func testX265CRFPresetAnd10BitAreInTheStream() async throws {
        let out = try await encode(EncodeSpec(codec: "libx265", crf: 26, preset: "ultrafast", pixelFormat: "yuv420p10le"), output: "x265.mp4")
        XCTAssertEqual(try stream(out), ["codec_name=hevc", "profile=Main 10", "pix_fmt=yuv420p10le"])
        let s = try encoderSettings(out, marker: "x265 (build")
        // ultrafast is x265's subme 0 and a 5-frame lookahead.
        XCTAssertEqual([s["crf"], s["subme"], s["rc-lookahead"]], ["26.0", "0", "5"], "\(s)")
    }

    func testSVTAV110BitAndCRFReachTheEncoder() async throws {
        // AV1 streams carry no encoder settings: CRF shows in the size, 10-bit in the stream header.
        let fine = try await encode(EncodeSpec(codec: "libsvtav1", crf: 20, preset: "12", pixelFormat: "yuv420p10le"), output: "av1-20.mkv")
        let coarse = try await encode(EncodeSpec(codec: "libsvtav1", crf: 55, preset: "12", pixelFormat: "yuv420p10le"), output: "av1-55.mkv")
        XCTAssertEqual(try stream(fine), ["codec_name=av1", "profile=Main", "pix_fmt=yuv420p10le"])
        let sizes = try [fine, coarse].map { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) }
        XCTAssertGreaterThan(Double(sizes[0]), Double(sizes[1]) * 1.3, "CRF 20 keeps more than CRF 55: \(sizes)")
    }
}

/// The neural upscaler through the pipeline's YUV path (decode → working YUV → RGB → network → YUV
/// → encode) against ncnn's output for the same picture and model (the golden fixture PyPI ncnn
/// produced, Tests/EnhanceTests/Fixtures). The pipeline's input is chroma-subsampled and its output
/// encoded, so the bound is a PSNR; Lanczos on the same job shows the bound tells the two apart.
final class NeuralYUVPathTests: XCTestCase {
    func testAnimeVideoV3ThroughThePipelineMatchesNcnn() async throws {
        let dir = try MediaChecks.temporaryDirectory("neural-yuv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EnhanceTests/Fixtures").path
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-loop", "1", "-i", "\(fixtures)/astronaut-60-190-48.ppm", "-frames:v", "6",
                                                "-r", "25", "-c:v", "ffv1", "\(dir)/photo.mkv"])
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", "\(fixtures)/animevideov3-x2.ppm", "-c:v", "ffv1", "\(dir)/ncnn.mkv"])
        let ncnn = try XCTUnwrap(MediaChecks.frames("\(dir)/ncnn.mkv").first)
        var worst: [String: Double] = [:]
        for model in ["realesr-animevideov3", "lanczos"] {
            let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: StageSettings(), logger: Logger(label: "test"))
            var spec = JobSpec(source: "photo.mkv", output: "\(model).mp4", upscale: UpscaleSpec(factor: 2, model: model))
            spec.encode.crf = 0
            _ = try await pipeline.run(spec: spec, interval: 0.05)
            let frames = try MediaChecks.frames("\(dir)/\(model).mp4")
            XCTAssertEqual(frames.count, 6)
            XCTAssertEqual(frames.first.map { [$0.width, $0.height] }, [96, 96])
            worst[model] = try frames.map { try PictureQuality.psnr($0, ncnn) }.min()
        }
        print(String(format: "neural YUV path against ncnn: %.1f dB (Lanczos: %.1f dB)", worst["realesr-animevideov3"]!, worst["lanczos"]!))
        XCTAssertGreaterThan(worst["realesr-animevideov3"]!, 35, "the network's output through the YUV path matches ncnn's")
        XCTAssertGreaterThan(worst["realesr-animevideov3"]! - worst["lanczos"]!, 5, "the bound tells the network from Lanczos")
    }
}
