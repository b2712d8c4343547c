import Foundation

/// A spec the pipeline refuses, with a message that says what to change.
public struct SpecError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Models each stage knows by name. Enhance maps these to implementations; Core needs them to validate
/// specs at ingest and to estimate cost when planning.
public enum ModelCatalog {
    /// Upscaler name → supported factors and relative cost per input pixel.
    public static let upscalers: [String: (factors: Set<Int>, cost: Double)] = [
        "lanczos": ([2, 3, 4], 1),
        // Neural models: cost from MACs per input pixel relative to Lanczos (~150 k, ~620 k, ~4.4 M).
        "waifu2x-photo": ([2], 2_000),
        "realesr-animevideov3": ([2, 3, 4], 8_000),
        "realesrgan-x4plus": ([2, 3, 4], 60_000),
    ]
    /// Models that take a denoise level, and its range.
    public static let noiseLevels: [String: ClosedRange<Int>] = ["waifu2x-photo": -1...3]
    /// Interpolator name → relative cost per output pixel.
    public static let interpolators: [String: Double] = [
        "blend": 1,
        "mci": 40,
    ]
    public static let codecs: Set<String> = ["libx264", "libx265", "libsvtav1"]
    public static let presets: [String: Set<String>] = [
        "libx264": ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"],
        "libx265": ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"],
        "libsvtav1": Set((0...13).map(String.init)),
    ]
    public static let pixelFormats: Set<String> = ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le"]
    public static let interpolationFactors: Set<Int> = [2, 4, 8]
}

/// Limits enforced at ingest so a job cannot swamp the cluster.
public struct JobLimits: Sendable {
    public var maxSourceWidth = 4096
    public var maxSourceHeight = 4096
    public var maxDurationSeconds = 4.0 * 3600
    /// Output pixels per second (width × height × fps): 8K at 60 fps.
    public var maxOutputPixelsPerSecond = 7680.0 * 4320 * 60
    public var maxOutputDimension = 8192
    public init() {}
}

extension JobSpec {
    static let allowedKeys: [String: Set<String>] = [
        "": ["version", "source", "output", "upscale", "interpolate", "encode", "audio", "priority"],
        "upscale": ["factor", "model", "noise"],
        "interpolate": ["factor", "targetFps", "mode", "model", "sceneThreshold"],
        "encode": ["codec", "crf", "preset", "pixelFormat"],
    ]

    /// Parses and validates a spec: unknown fields, wrong types and out-of-range values are rejected
    /// with a message naming the field.
    public static func parse(_ data: Data) throws -> JobSpec {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw SpecError("spec is not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else { throw SpecError("spec must be a JSON object") }
        try checkKeys(root, path: "")
        for section in ["upscale", "interpolate", "encode"] {
            guard let value = root[section] else { continue }
            guard let nested = value as? [String: Any] else { throw SpecError("'\(section)' must be an object") }
            try checkKeys(nested, path: section)
        }
        guard root["version"] != nil else { throw SpecError("missing field 'version' (use 1)") }
        let spec: JobSpec
        do { spec = try JSONDecoder().decode(JobSpec.self, from: data) } catch let error as DecodingError {
            throw SpecError(describe(error))
        }
        try spec.validate()
        return spec
    }

    private static func checkKeys(_ object: [String: Any], path: String) throws {
        let allowed = allowedKeys[path] ?? []
        for key in object.keys.sorted() where !allowed.contains(key) {
            let name = path.isEmpty ? key : "\(path).\(key)"
            throw SpecError("unknown field '\(name)'; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let ctx):
            let p = path(ctx.codingPath + [key])
            return "missing field '\(p)'"
        case .typeMismatch(let type, let ctx):
            return "field '\(path(ctx.codingPath))' must be \(typeName(type))"
        case .valueNotFound(let type, let ctx):
            return "field '\(path(ctx.codingPath))' must be \(typeName(type)), not null"
        case .dataCorrupted(let ctx):
            return "field '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        default: return "\(type)".lowercased().hasPrefix("dictionary") ? "an object" : "of type \(type)"
        }
    }

    /// Checks values against the catalog and the path rules; independent of the source file.
    public func validate() throws {
        guard version == 1 else { throw SpecError("unsupported version \(version); this ingest accepts version 1") }
        try MediaPath.validate(source, field: "source")
        if let output { try MediaPath.validate(output, field: "output") }
        if let output {
            let ext = (output as NSString).pathExtension.lowercased()
            guard ["mp4", "mkv", "mov"].contains(ext) else {
                throw SpecError("output '\(output)' must end in .mp4, .mkv or .mov")
            }
        }
        guard (0...9).contains(priority) else { throw SpecError("priority must be 0…9, got \(priority)") }
        if upscale == nil && interpolate == nil {
            throw SpecError("nothing to do: give 'upscale', 'interpolate' or both")
        }
        if let upscale {
            guard let model = ModelCatalog.upscalers[upscale.model] else {
                throw SpecError("unknown upscale model '\(upscale.model)'; available: \(ModelCatalog.upscalers.keys.sorted().joined(separator: ", "))")
            }
            guard model.factors.contains(upscale.factor) else {
                throw SpecError("upscale factor \(upscale.factor) not supported by '\(upscale.model)'; use one of \(model.factors.sorted().map(String.init).joined(separator: ", "))")
            }
            if let noise = upscale.noise {
                guard let range = ModelCatalog.noiseLevels[upscale.model] else {
                    throw SpecError("upscale model '\(upscale.model)' takes no 'noise' level")
                }
                guard range.contains(noise) else {
                    throw SpecError("noise level \(noise) out of range \(range.lowerBound)…\(range.upperBound) for '\(upscale.model)'")
                }
            }
        }
        if let interpolate {
            guard ModelCatalog.interpolators[interpolate.model] != nil else {
                throw SpecError("unknown interpolate model '\(interpolate.model)'; available: \(ModelCatalog.interpolators.keys.sorted().joined(separator: ", "))")
            }
            switch (interpolate.factor, interpolate.targetFps) {
            case (nil, nil): throw SpecError("interpolate needs 'factor' (2, 4, 8) or 'targetFps'")
            case (.some, .some): throw SpecError("interpolate takes 'factor' or 'targetFps', not both")
            case (let f?, nil):
                guard ModelCatalog.interpolationFactors.contains(f) else {
                    throw SpecError("interpolate factor \(f) not supported; use 2, 4 or 8")
                }
            case (nil, let fps?):
                guard fps.isFinite, fps >= 1, fps <= 480 else { throw SpecError("targetFps must be between 1 and 480, got \(fps)") }
                guard interpolate.mode == .smooth else { throw SpecError("targetFps works in smooth mode only; use 'factor' for slowmo") }
            }
            if let t = interpolate.sceneThreshold, !(0...1).contains(t) {
                throw SpecError("sceneThreshold must be between 0 and 1, got \(t)")
            }
        }
        guard ModelCatalog.codecs.contains(encode.codec) else {
            throw SpecError("unsupported codec '\(encode.codec)'; use \(ModelCatalog.codecs.sorted().joined(separator: ", "))")
        }
        let crfRange = encode.codec == "libsvtav1" ? 0...63 : 0...51
        guard crfRange.contains(encode.crf) else {
            throw SpecError("crf \(encode.crf) out of range for \(encode.codec) (\(crfRange.lowerBound)…\(crfRange.upperBound))")
        }
        guard ModelCatalog.presets[encode.codec]?.contains(encode.preset) == true else {
            throw SpecError("preset '\(encode.preset)' not valid for \(encode.codec); use \(ModelCatalog.presets[encode.codec]!.sorted().joined(separator: ", "))")
        }
        guard ModelCatalog.pixelFormats.contains(encode.pixelFormat) else {
            throw SpecError("pixelFormat '\(encode.pixelFormat)' not supported; use \(ModelCatalog.pixelFormats.sorted().joined(separator: ", "))")
        }
        if effectiveAudio == .stretch {
            // Time-stretching needs an audio re-encode through atempo; until that lands, say so at ingest.
            throw SpecError("audio 'stretch' is not supported yet; use 'drop' (default for slowmo) or 'copy'")
        }
    }
}
