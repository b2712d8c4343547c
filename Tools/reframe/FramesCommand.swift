import ArgumentParser
import Core
import Enhance
import Foundation
import Media

/// Image mode, as the ncnn command-line tools have it: one picture in, one out, no video round trip.
struct Frames: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one model on still images (PNG, JPEG, PPM in; PNG out).",
        subcommands: [FramesInterpolate.self, FramesUpscale.self])
}

struct FramesInterpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate", abstract: "Make the frame at time T between two images (T = 0.5: the middle).")

    @Argument(help: "The first image.") var first: String
    @Argument(help: "The second image (same size).") var second: String
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String
    @Option(help: "Position between the images, 0…1.") var time = 0.5
    @Option(help: "Interpolation model: \(ModelCatalog.names(.interpolator).joined(separator: ", ")).")
    var model = ModelCatalog.defaultInterpolator

    func validate() throws {
        guard time > 0, time < 1 else { throw ValidationError("--time must be strictly between 0 and 1") }
        _ = try catalogued(model, .interpolator)
    }

    func run() throws {
        let (a, b) = (try ImageFile.read(first), try ImageFile.read(second))
        guard a.width == b.width, a.height == b.height else {
            throw ValidationError("the images differ in size: \(a.width)×\(a.height) and \(b.width)×\(b.height)")
        }
        // minterpolate works on planar YUV; the other models take RGB as it is.
        let working = model == "mci" ? "yuv444p" : "rgb24"
        let convert = working == "rgb24" ? nil : try FrameScaler(from: (a.width, a.height, "rgb24"), to: (a.width, a.height, working), filter: .point)
        var frames = try [a, b].map { try convert?.scale($0) ?? $0 }
        frames[1].pts = 1
        let interpolator = try InterpolatorRegistry.make(model: model, width: a.width, height: a.height, pixelFormat: working)
        let out = try interpolator.interpolate(frames: frames, samples: [OutputTiming.Sample(pts: 0, left: 0, position: time)])
        try ImageFile.writePNG(out[0], to: output)
        print("\(output): \(a.width)×\(a.height), t = \(time), \(model)")
    }
}

struct FramesUpscale: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upscale", abstract: "Upscale one image.")

    @Argument(help: "The image.") var input: String
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String
    @Option(help: "Upscaling model: \(ModelCatalog.names(.upscaler).joined(separator: ", ")).") var model = ModelCatalog.defaultUpscaler
    @Option(help: "Factor.") var scale = 2
    @Option(help: "Denoise level for models that have one.") var noise: Int?

    func validate() throws {
        do { _ = try ModelCatalog.resolve(model, kind: .upscaler, factor: scale, noise: noise) } catch let e as SpecError {
            throw ValidationError(e.message)
        }
    }

    func run() throws {
        let image = try ImageFile.read(input)
        let upscaler = try UpscalerRegistry.make(model: model, factor: scale, noise: noise, width: image.width, height: image.height,
                                                 pixelFormat: "rgb24")
        let out = try upscaler.upscale(image)
        try ImageFile.writePNG(out, to: output)
        print("\(output): \(image.width)×\(image.height) → \(out.width)×\(out.height), \(model)")
    }
}

/// The catalog entry for a model name, or a usage error that lists the choices.
func catalogued(_ name: String, _ kind: ModelDescriptor.Kind) throws -> ModelDescriptor {
    do { return try ModelCatalog.resolve(name, kind: kind, factor: nil) } catch let e as SpecError { throw ValidationError(e.message) }
}
