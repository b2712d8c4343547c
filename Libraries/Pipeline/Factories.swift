import Core
import Enhance

/// Builds processors for a chunk's geometry from the plan's model choice.
enum UpscalerFactory {
    static func make(spec: UpscaleSpec, manifest: ChunkManifest) throws -> any Upscaler {
        try UpscalerRegistry.make(model: spec.model, factor: spec.factor, noise: spec.noise, width: manifest.width, height: manifest.height,
                                  pixelFormat: manifest.pixelFormat)
    }
}

enum InterpolatorFactory {
    static func make(spec: InterpolateSpec, manifest: ChunkManifest) throws -> any Interpolator {
        try InterpolatorRegistry.make(model: spec.model, width: manifest.width, height: manifest.height, pixelFormat: manifest.pixelFormat)
    }
}
