import Core
import Crypto
import Foundation
import OpenAPIRuntime

/// Streams an upload into the media root at `uploads/<tenant>/<name>`: the body goes to a temporary
/// file in the target's folder, is synced, and only then linked under its name (atomically; without
/// `overwrite` the link itself refuses an existing file), so a cut-off or refused upload never leaves
/// a partial file under the real name, and the temporary file is removed on every failure.
/// Missing sub-folders are created; none of the path may be a symbolic link (nothing is written
/// through a link, wherever it points).
struct UploadWriter {
    static let operationID = "uploadFile"
    /// Bytes gathered before one write, so a body of small network chunks costs few thread hops.
    static let writeBlock = 1 << 20
    static let maxNameBytes = 1024

    let mediaRoot: String

    struct Stored: Sendable {
        /// Relative to the media root: what a job names as its source.
        var path: String
        var size: Int64
        var sha256: String
        var replaced: Bool
    }

    func store(name: String, tenant: String, overwrite: Bool, body: HTTPBody) async throws -> Stored {
        let relative = try checkedPath(name: name, tenant: tenant)
        if case .known(0) = body.length { throw Self.empty }
        let (target, created) = try prepareFolders(relative)
        if !overwrite, FileManager.default.fileExists(atPath: target) {
            throw APIProblem(.conflict, "'\(relative)' exists; add ?overwrite=true to replace it")
        }
        let folder = (target as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.upload-\(UUID().uuidString.lowercased()).part"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let error = Self.problem(errno, "cannot create a file in the folder of '\(relative)'")
            Self.remove(created)
            throw error
        }
        var closed = false
        do {
            var hasher = SHA256()
            var size: Int64 = 0
            var block: [UInt8] = []
            block.reserveCapacity(Self.writeBlock)
            var chunks = body.makeAsyncIterator()
            while let chunk = try await Self.next(&chunks) {
                hasher.update(data: chunk)
                size += Int64(chunk.count)
                block.append(contentsOf: chunk)
                if block.count >= Self.writeBlock {
                    try await Self.write(block, to: fd)
                    block.removeAll(keepingCapacity: true)
                }
            }
            try await Self.write(block, to: fd)
            guard size > 0 else { throw Self.empty }
            // A connection that closes early may end the body without an error: its length tells.
            if case .known(let declared) = body.length, declared != size {
                throw APIProblem(.badRequest, "the body ended after \(size) of the \(declared) bytes its Content-Length declared")
            }
            try await BlockingWork.run {
                guard fsync(fd) == 0 else { throw Self.problem(errno, "cannot sync the upload") }
            }
            closed = true
            guard close(fd) == 0 else { throw Self.problem(errno, "cannot close the upload") }
            let replaced = try Self.place(temporary, at: target, overwrite: overwrite, relative: relative)
            Self.syncFolder(folder)
            let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            return Stored(path: relative, size: size, sha256: digest, replaced: replaced)
        } catch {
            if !closed { close(fd) }
            unlink(temporary)
            Self.remove(created)
            throw error
        }
    }

    /// The upload's path relative to the media root, after the same checks as a job's paths.
    func checkedPath(name: String, tenant: String) throws -> String {
        guard name.utf8.count <= Self.maxNameBytes else { throw APIProblem(.badRequest, "name is longer than \(Self.maxNameBytes) bytes") }
        do { try MediaPath.validate(name, field: "name") } catch let error as SpecError { throw APIProblem(.badRequest, error.message) }
        guard name.split(separator: "/").allSatisfy({ $0.utf8.count <= Int(NAME_MAX) }) else {
            throw APIProblem(.badRequest, "a component of name is longer than \(NAME_MAX) bytes")
        }
        guard UploadArea.isUsableTenant(tenant) else { throw APIProblem(.forbidden, "tenant '\(tenant)' cannot have an upload folder") }
        return UploadArea.path(tenant: tenant, name: name)
    }

    /// Creates the folders above the file and returns its absolute path and the folders it created,
    /// outermost first. Every component that exists must be a real folder (the last: a regular file),
    /// none a link, checked before anything is created in it.
    func prepareFolders(_ relative: String) throws -> (target: String, created: [String]) {
        let resolvedRoot = URL(fileURLWithPath: mediaRoot).standardizedFileURL.resolvingSymlinksInPath().path
        let components = relative.split(separator: "/").map(String.init)
        var path = resolvedRoot
        var missing: [String] = []
        for (n, component) in components.enumerated() {
            path += "/" + component
            let isLast = n == components.count - 1
            var info = stat()
            guard lstat(path, &info) == 0 else {
                missing = (n..<components.count - 1).map { resolvedRoot + "/" + components[0...$0].joined(separator: "/") }
                break
            }
            let shown = components[0...n].joined(separator: "/")
            if info.st_mode & S_IFMT == S_IFLNK { throw APIProblem(.forbidden, "'\(shown)' is a symbolic link; uploads are not written through links") }
            if !isLast, info.st_mode & S_IFMT != S_IFDIR { throw APIProblem(.conflict, "'\(shown)' is a file, not a folder") }
            if isLast, info.st_mode & S_IFMT != S_IFREG { throw APIProblem(.conflict, "'\(shown)' exists and is not a regular file") }
        }
        // The same check a job's source gets: after resolving links, still inside the media root.
        let target: String
        do { target = try MediaPath.resolve(relative, under: mediaRoot, field: "name") } catch let error as SpecError {
            throw APIProblem(.forbidden, error.message)
        }
        let folder = (target as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw APIProblem(.conflict, "cannot create the folder of '\(relative)'")
        }
        return (target, missing)
    }

    /// Puts the synced temporary file under its name; true when it replaced a file. `link` fails when
    /// the name exists, so without `overwrite` two uploads racing for one name cannot both win.
    static func place(_ temporary: String, at target: String, overwrite: Bool, relative: String) throws -> Bool {
        if link(temporary, target) == 0 {
            unlink(temporary)
            return false
        }
        let error = errno
        guard error == EEXIST else { throw problem(error, "cannot store '\(relative)'") }
        guard overwrite else { throw APIProblem(.conflict, "'\(relative)' exists; add ?overwrite=true to replace it") }
        guard rename(temporary, target) == 0 else { throw problem(errno, "cannot replace '\(relative)'") }
        return true
    }

    /// No source is empty (the ingest refuses one), and a PUT without a body is a client's mistake.
    static let empty = APIProblem(.badRequest, "the upload is empty; send the file's bytes as the body")

    /// The next piece of the body. A body that fails without saying why (the connection closed
    /// mid-way) is the client's doing, not a server error.
    static func next(_ chunks: inout HTTPBody.Iterator) async throws -> HTTPBody.ByteChunk? {
        do { return try await chunks.next() } catch let problem as APIProblem { throw problem } catch {
            throw APIProblem(.badRequest, "the upload was cut off before its body ended")
        }
    }

    /// Removes the folders a failed upload created, innermost first; one that another upload has
    /// put a file in meanwhile is not empty and stays.
    static func remove(_ created: [String]) {
        for folder in created.reversed() { rmdir(folder) }
    }

    static func write(_ bytes: [UInt8], to fd: Int32) async throws {
        guard !bytes.isEmpty else { return }
        try await BlockingWork.run {
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else { throw problem(errno, "cannot write the upload") }
                    offset += n
                }
            }
        }
    }

    /// Makes the new name durable (the file's bytes were synced before it got the name).
    static func syncFolder(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// A file-system failure as the client should read it: its own naming mistakes as 4xx, the
    /// server's trouble as 500 (ProblemMiddleware logs it and does not show the reason).
    static func problem(_ code: Int32, _ what: String) -> any Error {
        switch code {
        case ENAMETOOLONG: return APIProblem(.badRequest, "\(what): the name is too long")
        case EEXIST, EISDIR, ENOTDIR: return APIProblem(.conflict, "\(what): another file or folder is in the way")
        case ENOSPC, EDQUOT: return APIProblem(.init(code: 507, reasonPhrase: "Insufficient Storage"), "\(what): the media volume is full")
        default: return POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }
}
