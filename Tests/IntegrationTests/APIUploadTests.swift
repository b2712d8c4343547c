import AsyncHTTPClient
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
    /// `failAfter` cuts the body off (the sequence throws) once that many bytes have gone out.
    func upload(_ name: String, _ bytes: [UInt8], tenant: String? = "alpha", query: String = "", chunk: Int = 64 << 10,
                chunked: Bool = false, failAfter: Int? = nil) async throws -> Upload {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(cluster.httpPort)/v1/uploads/\(name)\(query)")
        request.method = .PUT
        if let tenant, let token = cluster.apiTokens[tenant] { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        let pieces = stride(from: 0, to: bytes.count, by: chunk).map { ByteBuffer(bytes: bytes[$0..<min($0 + chunk, bytes.count)]) }
        let cut = failAfter
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            var sent = 0
            for piece in pieces {
                if let cut, sent >= cut { continuation.finish(throwing: CancellationError()); return }
                continuation.yield(piece)
                sent += piece.readableBytes
            }
            continuation.finish()
        }
        request.body = .stream(stream, length: chunked ? .unknown : .known(Int64(bytes.count)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Upload(reply: Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView)))
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

        // Another tenant may neither read nor write alpha's uploads; its own land in its own folder.
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(source: stored.name, output: "b.mp4")), 403,
                      containing: "another tenant")
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(output: stored.name)), 403)
        assertProblem(try await call(.POST, "/v1/jobs", tenant: "beta", body: try spec(source: "uploads", output: "b.mp4")), 403)
        let betas = try await upload("tapes%2Fclip%20one.mp4", [1, 2, 3], tenant: "beta")
        XCTAssertEqual(betas.reply.status, 201, betas.reply.text)
        XCTAssertNotEqual(betas.name, stored.name)

        // No overwrite unless asked; asked, the file is replaced whole and the answer is 200.
        let again = try await upload("tapes%2Fclip%20one.mp4", [0, 1, 2])
        assertProblem(again.reply, 409, containing: "overwrite=true")
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
        assertProblem(try await upload("x.mp4", [1, 2, 3], tenant: nil).reply, 401)
        // A method the contract has not at this path: 405 naming the one it has; no path at all: 404.
        let wrongMethod = try await call(.GET, "/v1/uploads/x.mp4")
        assertProblem(wrongMethod, 405, containing: "PUT")
        XCTAssertEqual(wrongMethod.headers.first(name: "Allow"), "PUT")
        assertProblem(try await call(.GET, "/v1/nothing"), 404)
        assertProblem(try await upload("..", [1]).reply, 400, containing: "'..'")
        assertProblem(try await upload("%2e%2e%2fescape.mp4", [1]).reply, 400, containing: "'..'")
        assertProblem(try await upload("a%2F..%2F..%2F..%2Fclip.mp4", [1]).reply, 400, containing: "'..'")
        assertProblem(try await upload("%2Fetc%2Fpasswd", [1]).reply, 400, containing: "absolute")
        assertProblem(try await upload("a%2F%2Fb.mp4", [1]).reply, 400, containing: "empty")
        assertProblem(try await upload("bad%0Aname", [1]).reply, 400, containing: "control")
        assertProblem(try await upload("empty.bin", []).reply, 400, containing: "empty")
        assertProblem(try await upload("empty.bin", [], chunked: true).reply, 400, containing: "empty")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/../escape.mp4"))

        // Links inside the tenant's folder are never written through, wherever they point.
        let first = try await upload("first.bin", [1])
        XCTAssertEqual(first.reply.status, 201, first.reply.text)
        let folder = "\(dir)/\((first.name as NSString).deletingLastPathComponent)"
        let outside = try MediaChecks.temporaryDirectory("api-outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/out", withDestinationPath: outside)
        assertProblem(try await upload("out%2Fx.mp4", [1, 2]).reply, 403, containing: "symbolic link")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written outside the media root")
        let clipBefore = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/clip.mp4"))
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/link.mp4", withDestinationPath: "\(dir)/clip.mp4")
        assertProblem(try await upload("link.mp4", [1, 2], query: "?overwrite=true").reply, 403, containing: "symbolic link")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/clip.mp4")), clipBefore, "the link's target is untouched")
        try FileManager.default.removeItem(atPath: "\(folder)/out")
        try FileManager.default.removeItem(atPath: "\(folder)/link.mp4")

        // Too large: declared up front, and streamed without a length; neither leaves a file.
        let big = [UInt8](repeating: 7, count: Self.uploadLimit + 1)
        let declared = try await upload("big-declared.bin", big)
        assertProblem(declared.reply, 413, containing: "larger than")
        let streamed = try await upload("big-streamed.bin", big, chunked: true)
        assertProblem(streamed.reply, 413, containing: "larger than")
        let exact = try await upload("exact.bin", [UInt8](repeating: 1, count: Self.uploadLimit), chunked: true)
        XCTAssertEqual(exact.reply.status, 201, "a body of exactly the limit is accepted: \(exact.reply.text)")

        // Cut off half-way: the client gives up, the server drops what it had.
        _ = try? await upload("cut.bin", [UInt8](repeating: 3, count: 1 << 20), failAfter: 256 << 10)
        let deadline = Date().addingTimeInterval(10)
        while uploadedFiles().contains(where: { $0.hasSuffix(".part") }), Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        let tenant = (folder as NSString).lastPathComponent
        XCTAssertEqual(uploadedFiles(), ["\(tenant)/exact.bin", "\(tenant)/first.bin"], "neither final nor temporary files of refused uploads")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}
