import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime

/// The outermost middleware: every error a request ends with becomes a problem document, so no
/// route answers with a bare status or leaks a stack of internal error text.
struct ProblemMiddleware: ServerMiddleware {
    let logger: Logger

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch {
            let problem = Self.problem(for: error)
            if problem.status.kind == .serverError {
                // The underlying error only: a ServerError's description holds the request's headers, bearer token included.
                let cause = (error as? ServerError).map { "\($0.underlyingError)" } ?? "\(error)"
                logger.error("request failed", metadata: ["operation": "\(operationID)", "error": "\(cause)"])
            }
            let (response, document) = problem.response(instance: request.path)
            return (response, document)
        }
    }

    /// What the client is told: our own problems as they are, a request the generated code could
    /// not parse as 400 with the reason, anything else as a 500 without internals.
    static func problem(for error: any Error) -> APIProblem {
        if let problem = error as? APIProblem { return problem }
        guard let server = error as? ServerError else { return APIProblem(.internalServerError, "internal error") }
        if let problem = server.underlyingError as? APIProblem { return problem }
        if server.httpStatus.kind == .clientError {
            return APIProblem(server.httpStatus, "\(server.causeDescription): \(server.underlyingError)")
        }
        return APIProblem(.internalServerError, "internal error")
    }
}
