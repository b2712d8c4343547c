import Foundation
import Neural

/// RIFE HDv3 on our runtime: the frame halfway between two RGB frames, as planar floats in 0…1.
/// Frames are zero-padded on the right and bottom to the network's alignment and cropped back, as
/// the reference application does. One instance per process and settings (see `shared`): the
/// executor keeps its compiled plans and weights; calls are serialised by the executor.
public final class RIFENetwork: @unchecked Sendable {
    public let scale: Double
    public let executor: Executor

    public init(checkpoint: URL, scale: Double = 1, threads: Int) throws {
        self.scale = scale
        let weights = try TorchCheckpoint.load(checkpoint, stripPrefix: "module.")
        executor = try Executor(graph: try RIFEHDv3.graph(checkpoint: weights, scale: scale), threads: threads)
    }

    /// The network for `scale` from the model store, loaded once per process.
    public static func shared(store: ModelStore = ModelStore(), scale: Double = 1, options: NeuralRuntimeOptions) throws -> RIFENetwork {
        let file = try store.file("flownet.pkl", in: .rife)
        return try cache.value(for: "\(file.path)|\(scale)|\(options.threads)") {
            try RIFENetwork(checkpoint: file, scale: scale, threads: options.threads)
        }
    }

    private static let cache = SessionCache<RIFENetwork>()

    /// Padded network input size for a frame size.
    public func paddedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let a = RIFEHDv3.alignment(scale: scale)
        return ((width + a - 1) / a * a, (height + a - 1) / a * a)
    }

    /// `a`, `b` and `output` are 3×height×width planar.
    public func middle(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, width: Int, height: Int,
                       output: UnsafeMutablePointer<Float>) throws {
        let (pw, ph) = paddedSize(width: width, height: height)
        let shape = [1, 3, ph, pw]
        try executor.run(inputShapes: [shape, shape], fill: { i, buffer in
            let src = i == 0 ? a : b
            if pw != width || ph != height { buffer.update(repeating: 0) }
            for c in 0..<3 {
                for y in 0..<height {
                    (buffer.baseAddress! + (c * ph + y) * pw).update(from: src + (c * height + y) * width, count: width)
                }
            }
        }, read: { outputs, _ in
            let merged = outputs[0].baseAddress!
            for c in 0..<3 {
                for y in 0..<height {
                    (output + (c * height + y) * width).update(from: merged + (c * ph + y) * pw, count: width)
                }
            }
        })
    }
}
