import AsyncHTTPClient
import Core
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import XCTest

/// `PUT /v1/uploads/{name}` on the running Ingest (APITests' cluster: clip.mp4 in the media root,
/// an upload limit of `APITests.uploadLimit`): streamed bodies stored byte for byte and used as a
/// job's source; no overwrite unless asked; no path escapes; limits that leave no file behind.
extension APITests {
    struct Upload {
        var reply: Reply
        var name: String { reply.json["name"] as? String ?? "" }
    }

    /// PUTs `bytes` in `chunk`-sized pieces with their Content-Length, or `chunked` without one.
    func upload(_ name: String, _ bytes: [UInt8], tenant: String? = "alpha", query: String = "", chunk: Int = 64 << 10,
                chunked: Bool = false) async throws -> Upload {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(cluster.httpPort)/v1/uploads/\(name)\(query)")
        request.method = .PUT
        if let tenant, let token = cluster.apiTokens[tenant] { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        let pieces = stride(from: 0, to: bytes.count, by: chunk).map { ByteBuffer(bytes: bytes[$0..<min($0 + chunk, bytes.count)]) }
        let stream = AsyncStream<ByteBuffer> { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
        request.body = .stream(stream, length: chunked ? .unknown : .known(Int64(bytes.count)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Upload(reply: Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView)))
    }

    /// PUTs over a plain socket: head, then every byte of `body` (chunked when `chunked`), then reads
    /// the answer. For refusals: the server answers before reading the body (a bad name, a too-long
    /// Content-Length), and an HTTP client that sees the answer before it has sent the body may throw
    /// (AsyncHTTPClient: bodyLengthMismatch) instead of returning it. The server drains what follows
    /// its answer, so sending all of it first makes the order certain.
    func rawUpload(_ name: String, _ body: [UInt8], tenant: String? = "alpha", query: String = "", chunked: Bool = false,
                   contentType: String = "application/octet-stream") async throws -> Reply {
        var head = "PUT /v1/uploads/\(name)\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let tenant, let token = cluster.apiTokens[tenant] { head += "Authorization: Bearer \(token)\r\n" }
        head += "Content-Type: \(contentType)\r\n"
        var bytes: [UInt8]
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            bytes = Array(head.utf8)
            for start in stride(from: 0, to: body.count, by: 64 << 10) {
                let piece = body[start..<min(start + (64 << 10), body.count)]
                bytes += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
            }
            bytes += Array("0\r\n\r\n".utf8)
        } else {
            head += "Content-Length: \(body.count)\r\n\r\n"
            bytes = Array(head.utf8) + body
        }
        let port = cluster.httpPort
        let answer = try await BlockingWork.run { [bytes] in try RawHTTP.exchange(port: port, bytes) }
        let parts = answer.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { headers.add(name: String(pair[0]), value: pair[1].trimmingCharacters(in: .whitespaces)) }
        }
        return Reply(status: status, headers: headers, body: Data(parts.dropFirst().joined(separator: "\r\n\r\n").utf8))
    }

    func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// Every file under the upload folder, temporary ones included, relative to it.
    func uploadedFiles() -> [String] {
        let folder = "\(dir)/uploads"
        return ((FileManager.default.enumerator(atPath: folder)?.allObjects as? [String]) ?? [])
            .filter { !(((try? FileManager.default.attributesOfItem(atPath: "\(folder)/\($0)"))?[.type] as? FileAttributeType) == .typeDirectory) }
            .sorted()
    }

    func testUploadStreamsAFileThatAJobThenReads() async throws {
        let clip = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/clip.mp4")))
        XCTAssertLessThan(clip.count, Self.uploadLimit, "the clip must fit the test's upload limit")
        // 8 KiB pieces without a Content-Length: the server cannot know the size before it has read it all.
        let stored = try await upload("tapes%2Fclip%20one.mp4", clip, chunk: 8 << 10, chunked: true)
        XCTAssertEqual(stored.reply.status, 201, stored.reply.text)
        let tenantFolder = try XCTUnwrap(stored.name.split(separator: "/").dropFirst().first.map(String.init))
        XCTAssertTrue(tenantFolder.hasPrefix("alpha-"), stored.name)
        XCTAssertEqual(stored.name, "uploads/\(tenantFolder)/tapes/clip one.mp4")
        XCTAssertEqual(stored.reply.json["size"] as? Int, clip.count)
        XCTAssertEqual(stored.reply.json["sha256"] as? String, sha256(clip))
        XCTAssertEqual(stored.reply.headers.first(name: "Location"), "/v1/uploads/tapes%2Fclip%20one.mp4")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(stored.name)"))), clip, "stored byte for byte")
        XCTAssertEqual(uploadedFiles(), ["\(tenantFolder)/tapes/clip one.mp4"], "no temporary file left")

        let created = try await call(.POST, "/v1/jobs", body: try spec(source: stored.name, output: "from-upload.mp4"))
        XCTAssertEqual(created.status, 201, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)
        let done = try await waitForState(id, ["done", "failed", "cancelled"])
        XCTAssertEqual(done.json["state"] as? String, "done", done.text)
        XCTAssertEqual(try MediaChecks.summary("\(dir)/from-upload.mp4").frameCount, 60)
        XCTAssertGreaterThan(try MediaChecks.worstPSNRAgainstFFmpegLanczos("\(dir)/from-upload.mp4", source: "\(dir)/\(stored.name)", factor: 2), 35,
                             "the uploaded clip's pictures, upscaled as FFmpeg's Lanczos does")

        // Another tenant may neither read nor write alpha's uploads; its own land in its own folder.
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(source: stored.name, output: "b.mp4")), 403,
                      containing: "another tenant")
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(output: stored.name)), 403)
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(source: "uploads", output: "b.mp4")), 403)
        let betas = try await upload("tapes%2Fclip%20one.mp4", [1, 2, 3], tenant: "beta")
        XCTAssertEqual(betas.reply.status, 201, betas.reply.text)
        XCTAssertNotEqual(betas.name, stored.name)

        // No overwrite unless asked; asked, the file is replaced whole and the answer is 200.
        assertProblem(try await rawUpload("tapes%2Fclip%20one.mp4", [0, 1, 2]), 409, containing: "overwrite=true")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(stored.name)"))), clip, "a refused upload changes nothing")
        let replacement = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let replaced = try await upload("tapes%2Fclip%20one.mp4", replacement, query: "?overwrite=true")
        XCTAssertEqual(replaced.reply.status, 200, replaced.reply.text)
        XCTAssertEqual(replaced.reply.json["sha256"] as? String, sha256(replacement))
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(stored.name)"))), replacement)
        let fresh = try await upload("new.bin", [9, 9], query: "?overwrite=true")
        XCTAssertEqual(fresh.reply.status, 201, "overwrite=true on a new name creates it: \(fresh.reply.text)")
    }

    func testUploadRefusesEscapesAndOversizedBodiesAndLeavesNothing() async throws {
        assertProblem(try await rawUpload("x.mp4", [1, 2, 3], tenant: nil), 401)
        // A method the contract has not at this path: 405 naming the one it has; no path at all: 404.
        let wrongMethod = try await call(.GET, "/v1/uploads/x.mp4")
        assertProblem(wrongMethod, 405, containing: "PUT")
        XCTAssertEqual(wrongMethod.headers.first(name: "Allow"), "PUT")
        assertProblem(try await call(.GET, "/v1/nothing"), 404)
        assertProblem(try await rawUpload("..", [1]), 400, containing: "'..'")
        assertProblem(try await rawUpload("%2e%2e%2fescape.mp4", [1]), 400, containing: "'..'")
        assertProblem(try await rawUpload("a%2F..%2F..%2F..%2Fclip.mp4", [1]), 400, containing: "'..'")
        assertProblem(try await rawUpload("%2Fetc%2Fpasswd", [1]), 400, containing: "absolute")
        assertProblem(try await rawUpload("a%2F%2Fb.mp4", [1]), 400, containing: "empty")
        assertProblem(try await rawUpload("bad%0Aname", [1]), 400, containing: "control")
        assertProblem(try await rawUpload("typed.mp4", [1], contentType: "video/mp4"), 415)
        assertProblem(try await rawUpload("empty.bin", []), 400, containing: "empty")
        assertProblem(try await rawUpload("empty.bin", [], chunked: true), 400, containing: "empty")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/../escape.mp4"))

        // Links inside the tenant's folder are never written through, wherever they point.
        let first = try await upload("first.bin", [1])
        XCTAssertEqual(first.reply.status, 201, first.reply.text)
        let folder = "\(dir)/\((first.name as NSString).deletingLastPathComponent)"
        let outside = try MediaChecks.temporaryDirectory("api-outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/out", withDestinationPath: outside)
        assertProblem(try await rawUpload("out%2Fx.mp4", [1, 2]), 403, containing: "symbolic link")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written outside the media root")
        let clipBefore = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/clip.mp4"))
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/link.mp4", withDestinationPath: "\(dir)/clip.mp4")
        assertProblem(try await rawUpload("link.mp4", [1, 2], query: "?overwrite=true"), 403, containing: "symbolic link")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/clip.mp4")), clipBefore, "the link's target is untouched")
        try FileManager.default.removeItem(atPath: "\(folder)/out")
        try FileManager.default.removeItem(atPath: "\(folder)/link.mp4")

        // Too large: declared up front, and streamed without a length; neither leaves a file.
        let big = [UInt8](repeating: 7, count: Self.uploadLimit + 1)
        assertProblem(try await rawUpload("big-declared.bin", big), 413, containing: "larger than")
        assertProblem(try await rawUpload("new%2Ffolder%2Fbig-streamed.bin", big, chunked: true), 413, containing: "larger than")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(folder)/new"), "folders made for a refused upload are removed")
        let exact = try await upload("exact.bin", [UInt8](repeating: 1, count: Self.uploadLimit), chunked: true)
        XCTAssertEqual(exact.reply.status, 201, "a body of exactly the limit is accepted: \(exact.reply.text)")

        // Cut off half-way: while the body comes in, only a temporary file exists; once the client
        // hangs up, the server drops it.
        let tenant = (folder as NSString).lastPathComponent
        let head = "PUT /v1/uploads/cut.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(cluster.apiTokens["alpha"] ?? "")\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: \(1 << 20)\r\n\r\n"
        let connection = try RawHTTP.connect(port: cluster.httpPort)
        try RawHTTP.send(connection, Array(head.utf8) + [UInt8](repeating: 3, count: 256 << 10))
        func partial() -> [String] { uploadedFiles().filter { $0.hasSuffix(".part") } }
        var deadline = Date().addingTimeInterval(10)
        while partial().isEmpty, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(partial().count, 1, "the body is being written to a temporary file")
        XCTAssertFalse(uploadedFiles().contains("\(tenant)/cut.bin"), "nothing under the real name before the body is complete")
        close(connection)
        deadline = Date().addingTimeInterval(10)
        while !partial().isEmpty, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(uploadedFiles(), ["\(tenant)/exact.bin", "\(tenant)/first.bin"], "neither final nor temporary files of refused uploads")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}

/// One request over a plain TCP socket to the loopback, answer read until its Content-Length is in.
enum RawHTTP {
    struct Failure: Error { var what: String }

    /// A connected TCP socket to the loopback at `port` (reads time out after 30 s).
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(what: "connect: \(errno)")
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        try bytes.withUnsafeBytes { buffer in
            while sent < buffer.count {
                let n = Glibc.send(fd, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure(what: "send: \(errno) after \(sent) bytes") }
                sent += n
            }
        }
    }

    /// Sends `request` whole, then reads the answer (head and body as text) until its Content-Length is in.
    static func exchange(port: Int, _ request: [UInt8]) throws -> String {
        let fd = try connect(port: port)
        defer { close(fd) }
        try send(fd, request)
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let text = String(decoding: answer, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let length = text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[end.upperBound...].utf8.count >= length { return text }
            }
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { throw Failure(what: "recv: \(errno) with \(answer.count) bytes in") }
            answer += chunk[0..<n]
        }
    }
}
