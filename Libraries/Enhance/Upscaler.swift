import Core
import Media

/// Makes one frame larger. Implementations are created per chunk geometry and reused across frames.
public protocol Upscaler: Sendable {
    var factor: Int { get }
    func upscale(_ frame: VideoFrame) throws -> VideoFrame
}

/// Classical Lanczos resampling through libswscale: the model-free baseline.
public final class LanczosUpscaler: Upscaler, @unchecked Sendable {
    public let factor: Int
    private let scaler: FrameScaler

    public init(factor: Int, width: Int, height: Int, pixelFormat: String) throws {
        self.factor = factor
        scaler = try FrameScaler(from: (width, height, pixelFormat), to: (width * factor, height * factor, pixelFormat), filter: .lanczos)
    }

    public func upscale(_ frame: VideoFrame) throws -> VideoFrame { try scaler.scale(frame) }
}

/// Maps model names from the job spec to implementations, by the engine the catalog names.
public enum UpscalerRegistry {
    public static func make(model: String, factor: Int, noise: Int? = nil, width: Int, height: Int, pixelFormat: String) throws -> any Upscaler {
        guard let descriptor = ModelCatalog.model(model, kind: .upscaler) else { throw EnhanceError.unknownModel(model) }
        switch descriptor.engine {
        case .lanczos: return try LanczosUpscaler(factor: factor, width: width, height: height, pixelFormat: pixelFormat)
        case .ncnn: return try NeuralUpscaler(model: model, factor: factor, noise: noise, width: width, height: height, pixelFormat: pixelFormat)
        case .blend, .mci, .rife: throw EnhanceError.invalidInput("'\(model)' is an interpolation model")
        }
    }
}

public enum EnhanceError: Error, CustomStringConvertible, Sendable {
    case unknownModel(String)
    case invalidInput(String)
    case modelMissing(String)

    public var description: String {
        switch self {
        case .unknownModel(let m): return "unknown model '\(m)'"
        case .invalidInput(let m): return "invalid input: \(m)"
        case .modelMissing(let m): return "model files: \(m)"
        }
    }
}
