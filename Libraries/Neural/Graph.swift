/// The runtime's graph IR: values are numbered, nodes run in the stored (topological) order.
/// Importers produce it; executors consume it; neither knows about the other.
public struct Graph: Sendable {
    public var name: String
    public var valueNames: [String]
    public var inputs: [Int]
    public var outputs: [Int]
    public var nodes: [Node]

    public init(name: String, valueNames: [String], inputs: [Int], outputs: [Int], nodes: [Node]) {
        self.name = name
        self.valueNames = valueNames
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
    }

    public func value(named name: String) -> Int? { valueNames.firstIndex(of: name) }

    /// Multiply-accumulates per output pixel of each convolution, for throughput figures.
    public func multiplyAccumulates(inputShape: [Int]) throws -> Double {
        var shapes: [Int: [Int]] = [inputs[0]: inputShape]
        var total = 0.0
        for node in nodes {
            let ins = try node.inputs.map { v -> [Int] in
                guard let s = shapes[v] else { throw NeuralError.malformedModel("value \(valueNames[v]) used before it is produced") }
                return s
            }
            let outShape = try node.operation.outputShape(inputs: ins, layer: node.name)
            if case .convolution(let c) = node.operation {
                let perOutput = Double(ins[0][1] / c.groups * c.kernel.h * c.kernel.w)
                let outputs = Double(outShape.reduce(1, *))
                // A deconvolution scatters every input pixel through the whole kernel instead.
                total += c.transposed ? Double(ins[0].reduce(1, *)) * Double(c.outChannels * c.kernel.h * c.kernel.w) : perOutput * outputs
            }
            for o in node.outputs { shapes[o] = outShape }
        }
        return total
    }
}

public struct Node: Sendable {
    public var name: String
    public var operation: GraphOperation
    public var inputs: [Int]
    public var outputs: [Int]

    public init(name: String, operation: GraphOperation, inputs: [Int], outputs: [Int]) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
        self.outputs = outputs
    }
}

public enum GraphOperation: Sendable {
    case convolution(Convolution)
    /// Per-channel slopes (one slope broadcasts to all channels).
    case prelu(slopes: [Float])
    case activation(ActivationFunction)
    /// Elementwise between two same-shaped tensors, or with a scalar when `scalar` is set.
    case binary(BinaryOperation, scalar: Float?)
    /// N-ary sum with coefficients, product or maximum.
    case eltwise(EltwiseOperation, coefficients: [Float])
    case interpolate(Interpolation)
    case pixelShuffle(factor: Int)
    /// Join along an NCHW axis.
    case concat(axis: Int)
    case crop(Crop)
    case padding(Padding)
    /// PixelShuffle of input 0 plus input 1 enlarged by a nearest-neighbour `skip` resize: the
    /// residual tail of Real-ESRGAN-style networks, fused into one pass (see `ShuffleAddFusion`).
    case pixelShuffleAdd(factor: Int, skip: Interpolation)
    /// Backward warp of input 0 by the flow (u, v) at channels `flowChannel`… of input 1 (see `BackwardWarp`).
    case warp(flowChannel: Int)
    /// Input 0·σ(m) + input 1·(1 − σ(m)), m being channel `maskChannel` of input 2 (see `MaskedBlend`).
    case maskedBlend(maskChannel: Int)

    public var kindName: String {
        switch self {
        case .convolution(let c): return c.transposed ? "deconvolution" : "convolution"
        case .prelu: return "prelu"
        case .activation: return "activation"
        case .binary: return "binary"
        case .eltwise: return "eltwise"
        case .interpolate: return "interpolate"
        case .pixelShuffle: return "pixel-shuffle"
        case .concat: return "concat"
        case .crop: return "crop"
        case .padding: return "padding"
        case .pixelShuffleAdd: return "pixel-shuffle-add"
        case .warp: return "warp"
        case .maskedBlend: return "masked-blend"
        }
    }
}

public enum ActivationFunction: Sendable, Equatable {
    /// max(x,0) + slope·min(x,0).
    case relu(slope: Float)
    case sigmoid
    case clip(min: Float, max: Float)
}

public struct Convolution: Sendable {
    public var outChannels: Int
    public var kernel: (h: Int, w: Int)
    public var stride: (h: Int, w: Int)
    public var dilation: (h: Int, w: Int)
    /// Padding before/after in each spatial dimension.
    public var pad: (top: Int, left: Int, bottom: Int, right: Int)
    public var groups: Int
    /// Deconvolution (transposed convolution) when true.
    public var transposed: Bool
    /// Extra output size for transposed convolutions (bottom, right).
    public var outputPadding: (h: Int, w: Int)
    /// OIHW; for transposed convolutions O is the output channel too (ncnn's order).
    public var weights: [Float]
    public var bias: [Float]?
    public var activation: ActivationFunction?

    public init(outChannels: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int) = (1, 1), dilation: (h: Int, w: Int) = (1, 1),
                pad: (top: Int, left: Int, bottom: Int, right: Int), groups: Int = 1, transposed: Bool = false,
                outputPadding: (h: Int, w: Int) = (0, 0), weights: [Float], bias: [Float]?, activation: ActivationFunction?) {
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.pad = pad
        self.groups = groups
        self.transposed = transposed
        self.outputPadding = outputPadding
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }
}

public enum BinaryOperation: Sendable, Equatable {
    case add, sub, mul, div, max, min
    /// b − a and b / a (ncnn's reversed forms, used with scalars).
    case reverseSub, reverseDiv
}

public enum EltwiseOperation: Sendable, Equatable {
    case product, sum, max
}

public enum InterpolationMode: Sendable, Equatable {
    case nearest, bilinear, bicubic
}

public struct Interpolation: Sendable, Equatable {
    public var mode: InterpolationMode
    public var scale: (h: Float, w: Float)
    /// Fixed output size; 0 means "input × scale".
    public var outputSize: (h: Int, w: Int)
    public var alignCorners: Bool

    public init(mode: InterpolationMode, scale: (h: Float, w: Float), outputSize: (h: Int, w: Int) = (0, 0), alignCorners: Bool = false) {
        self.mode = mode
        self.scale = scale
        self.outputSize = outputSize
        self.alignCorners = alignCorners
    }

    public static func == (a: Interpolation, b: Interpolation) -> Bool {
        a.mode == b.mode && a.scale == b.scale && a.outputSize == b.outputSize && a.alignCorners == b.alignCorners
    }
}

/// A window of the input per axis (C, H, W): `start` and exclusive `end`; negative values count
/// from the end, `Int.max` means "to the end".
public struct Crop: Sendable, Equatable {
    public var start: (c: Int, h: Int, w: Int)
    public var end: (c: Int, h: Int, w: Int)

    public init(start: (c: Int, h: Int, w: Int), end: (c: Int, h: Int, w: Int)) {
        self.start = start
        self.end = end
    }

    /// Offsets and sizes for a C×H×W input; nil when the window is empty or outside.
    public func resolved(channels: Int, height: Int, width: Int) -> (offset: [Int], size: [Int])? {
        let starts = [start.c, start.h, start.w], ends = [end.c, end.h, end.w], full = [channels, height, width]
        var offset = [Int](), size = [Int]()
        for a in 0..<3 {
            let s = starts[a] < 0 ? full[a] + starts[a] : min(starts[a], full[a])
            let e = ends[a] < 0 ? full[a] + ends[a] : min(ends[a], full[a])
            guard s >= 0, e > s else { return nil }
            offset.append(s)
            size.append(e - s)
        }
        return (offset, size)
    }

    public static func == (a: Crop, b: Crop) -> Bool { a.start == b.start && a.end == b.end }
}

public enum BorderMode: Sendable, Equatable {
    case constant(Float)
    case replicate
    /// Mirror without repeating the edge pixel (ncnn's type 2, numpy's "reflect").
    case reflect
}

public struct Padding: Sendable, Equatable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public var mode: BorderMode

    public init(top: Int, bottom: Int, left: Int, right: Int, mode: BorderMode) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
        self.mode = mode
    }
}
