/// A dense f32 tensor in plain NCHW order: the runtime's exchange format at its edges.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor data does not match shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var channels: Int { shape[1] }
    public var height: Int { shape[2] }
    public var width: Int { shape[3] }

    public subscript(n: Int, c: Int, y: Int, x: Int) -> Float {
        get { data[((n * shape[1] + c) * shape[2] + y) * shape[3] + x] }
        set { data[((n * shape[1] + c) * shape[2] + y) * shape[3] + x] = newValue }
    }
}
