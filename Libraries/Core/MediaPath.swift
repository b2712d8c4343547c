import Foundation

/// Paths in specs are relative to the media root; this keeps every file access inside it.
public enum MediaPath {
    /// Rejects absolute paths, `..`, empty components and control characters.
    public static func validate(_ path: String, field: String) throws {
        guard !path.isEmpty else { throw SpecError("'\(field)' is empty") }
        guard !path.hasPrefix("/") else { throw SpecError("'\(field)' must be relative to the media root, not absolute: \(path)") }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" }) else {
            throw SpecError("'\(field)' contains control characters or backslashes")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.contains(where: { $0 == ".." }) else { throw SpecError("'\(field)' must not contain '..': \(path)") }
        guard !parts.contains(where: { $0.isEmpty || $0 == "." }) else { throw SpecError("'\(field)' has an empty or '.' component: \(path)") }
    }

    /// Resolves a validated relative path under `root`, re-checking after symlink resolution
    /// so a link inside the root cannot point outside it.
    public static func resolve(_ path: String, under root: String, field: String) throws -> String {
        try validate(path, field: field)
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
        let full = rootURL.appendingPathComponent(path).standardizedFileURL
        // Resolve symlinks of the deepest existing ancestor (the file itself may not exist yet).
        var probe = full
        var suffix: [String] = []
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" {
            suffix.insert(probe.lastPathComponent, at: 0)
            probe = probe.deletingLastPathComponent()
        }
        var resolved = probe.resolvingSymlinksInPath()
        for s in suffix { resolved.appendPathComponent(s) }
        let rootPath = rootURL.path.hasSuffix("/") ? rootURL.path : rootURL.path + "/"
        guard resolved.path.hasPrefix(rootPath) else {
            throw SpecError("'\(field)' resolves outside the media root: \(path)")
        }
        return resolved.path
    }

    /// What is at `path` when it is not a regular file ("a directory", "a FIFO", …), nil when it is
    /// one or nothing is there. Opening a FIFO would block a worker forever, a device could be endless.
    public static func nonRegularKind(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "not a regular file"
        }
    }

    /// `message` with the media root taken out of every path in it, so what a client reads names
    /// files relative to the root (as it named them) and never shows where the server keeps them.
    public static func relative(_ message: String, under root: String) -> String {
        let given = URL(fileURLWithPath: root).standardizedFileURL.path
        let resolved = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        var out = message
        // Longest first, so a resolved root inside the given one (or the reverse) is removed whole.
        for prefix in Set([given, resolved]).sorted(by: { $0.count > $1.count }) where prefix != "/" {
            out = out.replacingOccurrences(of: prefix + "/", with: "")
        }
        return out
    }
}
