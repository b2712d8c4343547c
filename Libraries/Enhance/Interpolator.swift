import Core
import Media

/// Makes the in-between frames of one chunk. Given the chunk's frames (lookahead included) and the
/// samples to produce (which real frame, at which fraction towards its successor), returns one frame
/// per sample, in order, each stamped with the sample's pts.
public protocol Interpolator: Sendable {
    func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> [VideoFrame]
    /// The same, calling `madeFrames` with how many output frames are done so far, for a live
    /// display of a slow chunk.
    func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample], madeFrames: (Int) -> Void) throws -> [VideoFrame]
}

extension Interpolator {
    /// Fast interpolators (and those that make frames in a filter graph) report the chunk at once.
    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample], madeFrames: (Int) -> Void) throws -> [VideoFrame] {
        let out = try interpolate(frames: frames, samples: samples)
        madeFrames(out.count)
        return out
    }
}

/// Maps model names to interpolators, by the engine the catalog names.
public enum InterpolatorRegistry {
    public static func make(model: String, width: Int, height: Int, pixelFormat: String) throws -> any Interpolator {
        guard let descriptor = ModelCatalog.model(model, kind: .interpolator) else { throw EnhanceError.unknownModel(model) }
        switch descriptor.engine {
        case .blend: return BlendInterpolator()
        case .mci: return MotionCompensatedInterpolator(width: width, height: height, pixelFormat: pixelFormat)
        case .rife: return try NeuralInterpolator(width: width, height: height, pixelFormat: pixelFormat)
        case .lanczos, .ncnn: throw EnhanceError.invalidInput("'\(model)' is an upscaling model")
        }
    }
}

extension OutputTiming.Sample {
    /// True when the output is exactly a real frame (no synthesis needed).
    var isRealFrame: Bool { position == 0 || position == 1 }
    var sourceIndex: Int { position == 1 ? left + 1 : left }
}

/// Linear cross-fade between the two neighbouring frames: cheap, ghosts on motion.
public struct BlendInterpolator: Interpolator {
    public init() {}

    public func interpolate(frames: [VideoFrame], samples: [OutputTiming.Sample]) throws -> [VideoFrame] {
        try samples.map { s in
            guard s.left < frames.count else { throw EnhanceError.invalidInput("sample refers to frame \(s.left) of \(frames.count)") }
            if s.isRealFrame {
                guard s.sourceIndex < frames.count else { throw EnhanceError.invalidInput("sample needs frame \(s.sourceIndex) of \(frames.count)") }
                var f = frames[s.sourceIndex]
                f.pts = s.pts
                return f
            }
            guard s.left + 1 < frames.count else { throw EnhanceError.invalidInput("in-between after the last frame needs a lookahead frame") }
            var out = Self.blend(frames[s.left], frames[s.left + 1], position: s.position)
            out.pts = s.pts
            return out
        }
    }

    /// out = a·(1−p) + b·p with 8-bit fixed-point weights, 16 bytes per step.
    public static func blend(_ a: VideoFrame, _ b: VideoFrame, position: Double) -> VideoFrame {
        let wb = UInt16((position * 256).rounded())
        let wa = 256 - wb
        var out = [UInt8](repeating: 0, count: a.data.count)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let n = min(pa.count, pb.count)
                    var i = 0
                    let va = SIMD16<UInt16>(repeating: wa), vb = SIMD16<UInt16>(repeating: wb), half = SIMD16<UInt16>(repeating: 128)
                    while i + 16 <= n {
                        let x = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(pa.baseAddress! + i).loadUnaligned(as: SIMD16<UInt8>.self))
                        let y = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(pb.baseAddress! + i).loadUnaligned(as: SIMD16<UInt8>.self))
                        let r = (x &* va &+ y &* vb &+ half) &>> 8
                        UnsafeMutableRawPointer(po.baseAddress! + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: r), as: SIMD16<UInt8>.self)
                        i += 16
                    }
                    while i < n {
                        po[i] = UInt8((UInt16(pa[i]) * wa + UInt16(pb[i]) * wb + 128) >> 8)
                        i += 1
                    }
                }
            }
        }
        return VideoFrame(width: a.width, height: a.height, pixelFormat: a.pixelFormat, data: out, pts: a.pts)
    }
}
