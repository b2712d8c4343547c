import Core

/// One runnable ncnn network: the package that ships it and how it maps pixels, as the model
/// catalog describes it for a factor and noise level.
public struct NeuralModelVariant: Sendable, Equatable {
    public var package: ModelPackage
    public var network: NcnnNetwork

    /// Path of the `.param` file without extension, relative to the package's cache folder.
    public var file: String { network.file }
    public var networkScale: Int { network.scale }
    public var prepadding: Int { network.prepadding }
    public var valid: Bool { network.valid }

    /// Maps a spec's model name, factor and noise level to the network that runs it.
    public static func resolve(model: String, factor: Int, noise: Int?) throws -> NeuralModelVariant {
        let descriptor: ModelDescriptor
        do { descriptor = try ModelCatalog.resolve(model, kind: .upscaler, factor: factor, noise: noise) } catch let error as SpecError {
            throw ModelCatalog.model(model, kind: .upscaler) == nil ? EnhanceError.unknownModel(model) : EnhanceError.invalidInput(error.message)
        }
        guard let package = descriptor.package, let network = descriptor.network?(factor, noise ?? descriptor.defaultNoise) else {
            throw EnhanceError.invalidInput("'\(model)' is not a neural network model")
        }
        return NeuralModelVariant(package: package, network: network)
    }
}
