import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Refuses request bodies over the limit with 413 before the generated code buffers them.
struct BodyLimitMiddleware: ServerMiddleware {
    let maxBytes: Int

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        guard let body else { return try await next(request, nil, metadata) }
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
