import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Refuses request bodies over the limit with 413 before the generated code buffers them. Streamed
/// operations (uploads) have their own, larger limit and are not buffered: a too-long declared length
/// is refused up front, and a body sent without one fails with 413 as its reader passes the limit.
struct BodyLimitMiddleware: ServerMiddleware {
    let maxBytes: Int
    /// Operation id → largest body, for operations whose handler streams the body itself.
    let streamed: [String: Int64]

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        guard let body else { return try await next(request, nil, metadata) }
        if let limit = streamed[operationID] {
            let tooLarge = APIProblem(.contentTooLarge, "upload larger than \(limit) bytes")
            if case .known(let length) = body.length, length > limit { throw tooLarge }
            let limited = LimitedBody(base: body, limit: limit, problem: tooLarge)
            return try await next(request, HTTPBody(limited, length: body.length, iterationBehavior: .single), metadata)
        }
        let tooLarge = APIProblem(.contentTooLarge, "request body larger than \(maxBytes) bytes")
        if case .known(let length) = body.length, length > maxBytes { throw tooLarge }
        // A body without a length (chunked) is read up to the limit here, so it cannot grow past it.
        var data = Data()
        for try await chunk in body {
            guard data.count + chunk.count <= maxBytes else { throw tooLarge }
            data.append(contentsOf: chunk)
        }
        return try await next(request, HTTPBody(data), metadata)
    }
}

/// A body that throws `problem` once more than `limit` bytes have come through it.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk
    let base: HTTPBody
    let limit: Int64
    let problem: APIProblem

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPBody.Iterator
        let limit: Int64
        let problem: APIProblem
        var seen: Int64 = 0

        mutating func next() async throws -> HTTPBody.ByteChunk? {
            guard let chunk = try await base.next() else { return nil }
            seen += Int64(chunk.count)
            guard seen <= limit else { throw problem }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit, problem: problem) }
}
