/// Every operator the runtime can import and run, by name — ncnn's layer registry. A new operator
/// is one new file in this folder plus its line here.
enum OperatorRegistry {
    static let all: [OperatorRegistration] = [
        Convolution.registration, PReLU.registration, ActivationLayer.registration, BinaryOp.registration,
        Eltwise.registration, Interpolation.registration, PixelShuffle.registration, Concat.registration,
        Crop.registration, Padding.registration, PixelShuffleAdd.registration, Warp.registration,
        MaskedBlend.registration,
    ]

    /// By operator name, for the planner.
    static let byName: [String: OperatorRegistration] = Dictionary(uniqueKeysWithValues: all.map { ($0.typeName, $0) })

    /// By ncnn layer type, for the importer.
    static let byNcnnType: [String: OperatorRegistration] = Dictionary(
        uniqueKeysWithValues: all.flatMap { r in r.ncnnTypes.map { ($0, r) } })
}
