import ArgumentParser
import Core

/// Flags that describe a job, shared by `process` and `submit`.
struct SpecOptions: ParsableArguments {
    @Option(help: "Upscale factor (2, 3, 4).") var upscale: Int?
    @Option(help: "Upscaling model: \(ModelCatalog.names(.upscaler).joined(separator: ", ")) (`reframe models list`).")
    var model = ModelCatalog.defaultUpscaler
    @Option(help: "Denoise level for waifu2x-photo (-1 none, 0…3).") var noise: Int?
    @Option(help: "Interpolation factor (2, 4, 8).") var interpolate: Int?
    @Option(help: "Target frame rate instead of a factor (smooth mode).") var fps: Double?
    @Flag(help: "Slow motion: keep the frame rate, stretch the duration by the factor.") var slowmo = false
    @Option(name: .customLong("interp-model"), help: "Interpolation model: \(ModelCatalog.names(.interpolator).joined(separator: ", ")).")
    var interpModel = ModelCatalog.defaultInterpolator
    @Option(name: .customLong("scene-threshold"), help: "Scene-cut threshold 0…1 (no morphing across cuts).") var sceneThreshold: Double?
    @Option(help: "Video codec: libx264, libx265, libsvtav1.") var codec = "libx264"
    @Option(help: "Constant rate factor.") var crf = 18
    @Option(help: "Encoder preset.") var preset = "medium"
    @Option(name: .customLong("pix-fmt"), help: "Output pixel format.") var pixelFormat = "yuv420p"
    @Option(help: "Interlaced sources: auto (when the stream says so or its pictures show it), off, frame (one frame per frame) or field (one per field: 50p from 25i); bwdif, before any other stage.")
    var deinterlace: String?
    @Option(help: "Audio: copy, drop or stretch (slow motion: time-stretched to the new duration, pitch kept; same as copy otherwise). Default: drop for slow motion, copy otherwise.") var audio: String?

    func spec(source: String, output: String?) throws -> JobSpec {
        var interp: InterpolateSpec?
        if interpolate != nil || fps != nil || slowmo {
            interp = InterpolateSpec(factor: interpolate ?? (fps == nil ? 2 : nil), targetFps: fps, mode: slowmo ? .slowmo : .smooth,
                                     model: interpModel, sceneThreshold: sceneThreshold)
        }
        let audioMode = try audio.map { value -> AudioMode in
            guard let mode = AudioMode(rawValue: value) else { throw ValidationError("--audio must be copy, drop or stretch, not '\(value)'") }
            return mode
        }
        let deinterlaceMode = try deinterlace.map { value -> DeinterlaceMode in
            guard let mode = DeinterlaceMode(rawValue: value) else { throw ValidationError("--deinterlace must be auto, off, frame or field, not '\(value)'") }
            return mode
        }
        let spec = JobSpec(source: source, output: output, upscale: upscale.map { UpscaleSpec(factor: $0, model: model, noise: noise) },
                           interpolate: interp, encode: EncodeSpec(codec: codec, crf: crf, preset: preset, pixelFormat: pixelFormat),
                           audio: audioMode, deinterlace: deinterlaceMode)
        do { try spec.validate() } catch let error as SpecError { throw ValidationError(error.message) }
        return spec
    }
}
