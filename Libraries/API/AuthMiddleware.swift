import HTTPTypes
import OpenAPIRuntime

/// Bearer-token authentication and a per-token rate limit. Operations whose security in the
/// document is empty (health, readiness) pass without a token.
struct AuthMiddleware: ServerMiddleware {
    static let openOperations: Set<String> = ["health", "ready"]
    let tokens: TokenRegistry
    let limiter: RateLimiter

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        if Self.openOperations.contains(operationID) { return try await next(request, body, metadata) }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer"]
        guard let header = request.headerFields[.authorization] else {
            throw APIProblem(.unauthorized, "an Authorization: Bearer token is required", headers: challenge)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let found = tokens.lookup(String(parts[1])) else {
            throw APIProblem(.unauthorized, "the bearer token is not valid", headers: challenge)
        }
        let entry = found.entry
        if let wait = await limiter.take(key: found.hash, rate: entry.rate) {
            throw APIProblem(.tooManyRequests, "rate limit of \(entry.rate) requests per second exceeded",
                             headers: [.retryAfter: "\(Int(wait.rounded(.up)))"])
        }
        return try await RequestTenant.$current.withValue(entry.tenant) { try await next(request, body, metadata) }
    }
}
