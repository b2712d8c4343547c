import Foundation

/// Job spec v1 (DESIGN.md §2): what a user publishes to `reframe.ingest`.
public struct JobSpec: Codable, Sendable, Equatable {
    public var version: Int
    /// Source path relative to the media root.
    public var source: String
    /// Output path relative to the media root; derived from the job id when absent.
    public var output: String?
    public var upscale: UpscaleSpec?
    public var interpolate: InterpolateSpec?
    public var encode: EncodeSpec
    public var audio: AudioMode?
    /// Interlaced sources: `auto` (default), `off`, `frame`, `field`.
    public var deinterlace: DeinterlaceMode?
    public var priority: Int

    public init(
        source: String, output: String? = nil, upscale: UpscaleSpec? = nil, interpolate: InterpolateSpec? = nil,
        encode: EncodeSpec = EncodeSpec(), audio: AudioMode? = nil, deinterlace: DeinterlaceMode? = nil, priority: Int = 5
    ) {
        self.version = 1
        self.source = source
        self.output = output
        self.upscale = upscale
        self.interpolate = interpolate
        self.encode = encode
        self.audio = audio
        self.deinterlace = deinterlace
        self.priority = priority
    }

    /// Audio handling after defaults: slow motion drops audio unless asked otherwise.
    public var effectiveAudio: AudioMode {
        audio ?? (interpolate?.mode == .slowmo ? .drop : .copy)
    }
}

public struct UpscaleSpec: Codable, Sendable, Equatable {
    public var factor: Int
    public var model: String
    /// Denoise level for models that have one (waifu2x: −1 none, 0…3); nil = the model's default.
    public var noise: Int?
    public init(factor: Int, model: String = ModelCatalog.defaultUpscaler, noise: Int? = nil) {
        self.factor = factor
        self.model = model
        self.noise = noise
    }

    enum CodingKeys: String, CodingKey { case factor, model, noise }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        factor = try c.decode(Int.self, forKey: .factor)
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ModelCatalog.defaultUpscaler
        noise = try c.decodeIfPresent(Int.self, forKey: .noise)
    }
}

public enum InterpolationMode: String, Codable, Sendable {
    /// Keeps the duration; the frame rate rises.
    case smooth
    /// Keeps the frame rate; the duration stretches by the factor.
    case slowmo
}

public struct InterpolateSpec: Codable, Sendable, Equatable {
    public var factor: Int?
    public var targetFps: Double?
    public var mode: InterpolationMode
    public var model: String
    public var sceneThreshold: Double?
    /// Frames differing from their predecessor by at most this (the largest 32×32-block mean absolute
    /// luma difference, as a fraction of full scale) are duplicates: interpolation runs over the real
    /// motion around them. 0 turns detection off; nil means `defaultDuplicateThreshold`.
    public var duplicateThreshold: Double?

    /// Catches the repeated frames of x264-compressed 25→50 and 20→30 fps conversions without
    /// flagging any real motion in the project's footage (see DuplicateDetector).
    public static let defaultDuplicateThreshold = 0.007

    public init(factor: Int? = nil, targetFps: Double? = nil, mode: InterpolationMode = .smooth, model: String = ModelCatalog.defaultInterpolator,
                sceneThreshold: Double? = nil, duplicateThreshold: Double? = nil) {
        self.factor = factor
        self.targetFps = targetFps
        self.mode = mode
        self.model = model
        self.sceneThreshold = sceneThreshold
        self.duplicateThreshold = duplicateThreshold
    }

    public var effectiveDuplicateThreshold: Double { duplicateThreshold ?? Self.defaultDuplicateThreshold }

    enum CodingKeys: String, CodingKey { case factor, targetFps, mode, model, sceneThreshold, duplicateThreshold }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        factor = try c.decodeIfPresent(Int.self, forKey: .factor)
        targetFps = try c.decodeIfPresent(Double.self, forKey: .targetFps)
        mode = try c.decodeIfPresent(InterpolationMode.self, forKey: .mode) ?? .smooth
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ModelCatalog.defaultInterpolator
        sceneThreshold = try c.decodeIfPresent(Double.self, forKey: .sceneThreshold)
        duplicateThreshold = try c.decodeIfPresent(Double.self, forKey: .duplicateThreshold)
    }
}

public struct EncodeSpec: Codable, Sendable, Equatable {
    public var codec: String
    public var crf: Int
    public var preset: String
    public var pixelFormat: String

    public init(codec: String = "libx264", crf: Int = 18, preset: String = "medium", pixelFormat: String = "yuv420p") {
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.pixelFormat = pixelFormat
    }

    enum CodingKeys: String, CodingKey { case codec, crf, preset, pixelFormat }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = EncodeSpec()
        codec = try c.decodeIfPresent(String.self, forKey: .codec) ?? d.codec
        crf = try c.decodeIfPresent(Int.self, forKey: .crf) ?? d.crf
        preset = try c.decodeIfPresent(String.self, forKey: .preset) ?? d.preset
        pixelFormat = try c.decodeIfPresent(String.self, forKey: .pixelFormat) ?? d.pixelFormat
    }
}

public enum AudioMode: String, Codable, Sendable {
    /// Stream-copy the source's audio (and subtitles).
    case copy
    /// No audio or subtitles in the output.
    case drop
    /// Slow motion: the audio is time-stretched to the new duration with its pitch kept (atempo,
    /// re-encoded to AAC). Where the duration is kept (smooth mode, no interpolation) it is a copy.
    case stretch
}

extension JobSpec {
    enum CodingKeys: String, CodingKey { case version, source, output, upscale, interpolate, encode, audio, deinterlace, priority }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        source = try c.decode(String.self, forKey: .source)
        output = try c.decodeIfPresent(String.self, forKey: .output)
        upscale = try c.decodeIfPresent(UpscaleSpec.self, forKey: .upscale)
        interpolate = try c.decodeIfPresent(InterpolateSpec.self, forKey: .interpolate)
        encode = try c.decodeIfPresent(EncodeSpec.self, forKey: .encode) ?? EncodeSpec()
        audio = try c.decodeIfPresent(AudioMode.self, forKey: .audio)
        deinterlace = try c.decodeIfPresent(DeinterlaceMode.self, forKey: .deinterlace)
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 5
    }
}
