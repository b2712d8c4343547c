import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The generated code writes a response header as a URI-encoded value ("%2Fv1%2Fjobs%2F…",
/// "bytes%2010-109%2F4110665"), which HTTP headers do not use and clients do not decode.
/// These headers carry plain text: they go out decoded.
struct RawHeaderMiddleware: ServerMiddleware {
    static let plainHeaders: [HTTPField.Name] = [.location, .contentRange, .retryAfter]

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        var (response, responseBody) = try await next(request, body, metadata)
        for name in Self.plainHeaders {
            if let value = response.headerFields[name], let decoded = value.removingPercentEncoding { response.headerFields[name] = decoded }
        }
        return (response, responseBody)
    }
}
