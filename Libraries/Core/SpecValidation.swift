import Foundation

/// A spec the pipeline refuses, with a message that says what to change.
public struct SpecError: FaultClassifying, Equatable, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var isTransient: Bool { false }
}

/// Limits enforced at ingest so a job cannot swamp the cluster.
public struct JobLimits: Sendable {
    public var maxSourceWidth = 4096
    public var maxSourceHeight = 4096
    public var maxDurationSeconds = 4.0 * 3600
    /// Output pixels per second (width × height × fps): 8K at 60 fps.
    public var maxOutputPixelsPerSecond = 7680.0 * 4320 * 60
    public var maxOutputDimension = 8192
    /// Source frame rates above this are not video a person shot or will watch (high-speed cameras
    /// stay below it); a larger figure is a broken header.
    public var maxSourceFrameRate = 1000.0
    public init() {}
}

extension JobSpec {
    static let allowedKeys: [String: Set<String>] = [
        "": ["version", "source", "output", "upscale", "interpolate", "encode", "audio", "deinterlace", "priority"],
        "upscale": ["factor", "model", "noise"],
        "interpolate": ["factor", "targetFps", "mode", "model", "sceneThreshold", "duplicateThreshold"],
        "encode": ["codec", "crf", "preset", "pixelFormat"],
    ]

    /// The largest spec ingest reads.
    public static let maxBytes = 64 << 10

    /// Parses and validates a spec: unknown fields, wrong types and out-of-range values are rejected
    /// with a message naming the field.
    public static func parse(_ data: Data) throws -> JobSpec {
        let object: Any
        guard data.count <= maxBytes else {
            throw SpecError("spec is \(data.count) bytes; the limit is \(maxBytes) (a spec names files, it never carries them)")
        }
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            // Foundation's own description of where parsing stopped, not its generic "wrong format".
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw SpecError("spec is not valid JSON: \(detail)")
        }
        guard let root = object as? [String: Any] else { throw SpecError("spec must be a JSON object") }
        try checkKeys(root, path: "")
        for section in ["upscale", "interpolate", "encode"] {
            guard let value = root[section] else { continue }
            guard let nested = value as? [String: Any] else { throw SpecError("'\(section)' must be an object") }
            try checkKeys(nested, path: section)
        }
        guard root["version"] != nil else { throw SpecError("missing field 'version' (use 1)") }
        if let audio = root["audio"], !(audio is NSNull) {
            // Named here rather than by the decoder so the message lists the choices.
            let choices = "copy, drop or stretch (slow motion: time-stretched, pitch kept)"
            guard let value = audio as? String else { throw SpecError("field 'audio' must be a string: \(choices)") }
            guard AudioMode(rawValue: value) != nil else { throw SpecError("unknown audio mode '\(value)'; use \(choices)") }
        }
        if let mode = root["deinterlace"], !(mode is NSNull) {
            let choices = "auto (when the stream is interlaced), off, frame or field"
            guard let value = mode as? String, DeinterlaceMode(rawValue: value) != nil else {
                throw SpecError("field 'deinterlace' must be one of: \(choices)")
            }
        }
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
        // Forced deinterlacing is work of its own: an archive's 25i made 50p (`field`) or clean 25p.
        let deinterlaces = deinterlace == .frame || deinterlace == .field
        if upscale == nil && interpolate == nil && !deinterlaces {
            throw SpecError("nothing to do: give 'upscale', 'interpolate' or both")
        }
        if let upscale {
            _ = try ModelCatalog.resolve(upscale.model, kind: .upscaler, factor: upscale.factor, noise: upscale.noise)
        }
        if let interpolate {
            let model = try ModelCatalog.resolve(interpolate.model, kind: .interpolator, factor: nil)
            switch (interpolate.factor, interpolate.targetFps) {
            case (nil, nil): throw SpecError("interpolate needs 'factor' (2, 4, 8) or 'targetFps'")
            case (.some, .some): throw SpecError("interpolate takes 'factor' or 'targetFps', not both")
            case (let f?, nil):
                guard model.factors.contains(f) else {
                    throw SpecError("interpolate factor \(f) not supported by '\(model.name)'; use \(model.factors.map(String.init).joined(separator: ", "))")
                }
            case (nil, let fps?):
                guard fps.isFinite, fps >= 1, fps <= 480 else { throw SpecError("targetFps must be between 1 and 480, got \(fps)") }
                guard interpolate.mode == .smooth else { throw SpecError("targetFps works in smooth mode only; use 'factor' for slowmo") }
            }
            if let t = interpolate.sceneThreshold, !(0...1).contains(t) {
                throw SpecError("sceneThreshold must be between 0 and 1, got \(t)")
            }
            if let t = interpolate.duplicateThreshold, !(0...0.2).contains(t) {
                throw SpecError("duplicateThreshold must be between 0 (off) and 0.2, got \(t)")
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
    }
}
