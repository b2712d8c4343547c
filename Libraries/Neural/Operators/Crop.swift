/// A window of the input per axis (C, H, W): `start` and exclusive `end`; negative values count
/// from the end, `Int.max` means "to the end". ncnn: `Crop` (offset/size and starts/ends forms).
public struct Crop: Operator, Equatable {
    public static let typeName = "crop"
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

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, c, h, w) = try nchw(inputs, layer: layer)
        guard let r = resolved(channels: c, height: h, width: w) else {
            throw NeuralError.shapeMismatch("layer '\(layer)': crop \(self) is empty or outside \(c)×\(h)×\(w)")
        }
        return [n] + r.size
    }

    static let registration = OperatorRegistration(Crop.self, ncnn: ["Crop"], read: { layer, _ in try Crop(ncnn: layer) },
                                                   plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            { HostKernels.crop(op, src: $0[0], inShape: shapes[0], dst: $1, outShape: outShape, threads: threads) }
        }
    })

    init(ncnn layer: NcnnLayer) throws {
        let p = layer.parameters
        if p.has(9) || p.has(10) {
            // starts/ends/axes form; axes count over C×H×W (0 = channels).
            let starts = try p.ints(9), ends = try p.ints(10)
            var axes = try p.ints(11)
            if axes.isEmpty { axes = Array(0..<starts.count) }
            guard starts.count == ends.count, axes.count == starts.count else {
                throw NeuralError.unsupportedParameter(layer: layer.name, "Crop starts/ends/axes of different lengths")
            }
            var s = [0, 0, 0], e = [Int.max, Int.max, Int.max]
            for (i, rawAxis) in axes.enumerated() {
                let axis = rawAxis < 0 ? rawAxis + 3 : rawAxis
                guard (0...2).contains(axis) else { throw NeuralError.unsupportedParameter(layer: layer.name, "Crop axis \(rawAxis)") }
                s[axis] = starts[i]
                e[axis] = ends[i] >= Int(Int32.max) - 1 ? Int.max : ends[i]
            }
            self.init(start: (s[0], s[1], s[2]), end: (e[0], e[1], e[2]))
            return
        }
        let wo = try p.int(0, default: 0), ho = try p.int(1, default: 0), co = try p.int(2, default: 0)
        let ow = try p.int(3, default: 0), oh = try p.int(4, default: 0), oc = try p.int(5, default: 0)
        let wo2 = try p.int(6, default: 0), ho2 = try p.int(7, default: 0), co2 = try p.int(8, default: 0)
        func end(_ offset: Int, _ size: Int, _ trailing: Int) -> Int {
            size > 0 ? offset + size : (trailing > 0 ? -trailing : Int.max)
        }
        self.init(start: (co, ho, wo), end: (end(co, oc, co2), end(ho, oh, ho2), end(wo, ow, wo2)))
    }
}

extension HostKernels {
    static func crop(_ crop: Crop, src: UnsafePointer<Float>, inShape: [Int], dst: UnsafeMutablePointer<Float>, outShape: [Int], threads: Int) {
        let (c, h, w) = (inShape[1], inShape[2], inShape[3])
        let (oc, oh, ow) = (outShape[1], outShape[2], outShape[3])
        guard let r = crop.resolved(channels: c, height: h, width: w) else { return }
        parallel(outShape[0] * oc, threads: threads) { range in
            for plane in range {
                let b = plane / oc, q = plane % oc
                let s = src + ((b * c + q + r.offset[0]) * h + r.offset[1]) * w + r.offset[2]
                let d = dst + plane * oh * ow
                for y in 0..<oh { (d + y * ow).update(from: s + y * w, count: ow) }
            }
        }
    }
}
