import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small client of Ingest's HTTP job API with one tenant's token: what the benchmarks and the
/// multi-host test use to submit, follow, cancel and download jobs.
public struct APIClient: Sendable {
    public let base: String
    public let token: String

    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(base: String, token: String) {
        self.base = base
        self.token = token
    }

    public func call(_ method: HTTPMethod, _ path: String, body: Data? = nil, authorized: Bool = true,
                     headers: [String: String] = [:]) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if authorized { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 30)
        return Reply(status: Int(response.status.code), body: Data(bytes.readableBytesView))
    }

    /// Waits until `/readyz` answers 200 (Ingest bound its port and reaches its store).
    public func awaitReady(timeout: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await call(.GET, "/readyz", authorized: false).status) == 200 { return }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw Failure(description: "\(base)/readyz did not answer 200 within \(Int(timeout)) s")
    }

    /// Submits a job spec (JSON); returns the job's id.
    public func createJob(_ spec: String) async throws -> String {
        let reply = try await call(.POST, "/v1/jobs", body: Data(spec.utf8))
        guard reply.status == 201, let id = reply.json["id"] as? String else { throw Failure(description: "POST /v1/jobs: \(reply.status) \(reply.text)") }
        return id
    }

    public func cancel(_ id: String) async throws {
        let reply = try await call(.DELETE, "/v1/jobs/\(id)")
        guard reply.status / 100 == 2 else { throw Failure(description: "DELETE /v1/jobs/\(id): \(reply.status) \(reply.text)") }
    }

    /// Polls the job until it is done, failed or cancelled; returns its last view. `alive` may
    /// throw to stop waiting early (a service died).
    public func waitForEnd(_ id: String, timeout: Double = 600, alive: () throws -> Void = {}) async throws -> Reply {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let reply = try await call(.GET, "/v1/jobs/\(id)")
            if let state = reply.json["state"] as? String, ["done", "failed", "cancelled"].contains(state) { return reply }
            try alive()
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        throw Failure(description: "job \(id) did not end within \(Int(timeout)) s")
    }
}
