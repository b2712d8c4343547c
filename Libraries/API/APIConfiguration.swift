import Core
import Foundation
import Pipeline

/// The HTTP API's settings, from the environment (REFRAME_HTTP_HOST, REFRAME_HTTP_PORT,
/// REFRAME_API_TOKENS, REFRAME_API_MAX_BODY, REFRAME_API_MAX_UPLOAD, REFRAME_API_RATE).
public struct APIConfiguration: Sendable {
    /// Loopback unless asked (`REFRAME_HTTP_HOST`); the container image sets 0.0.0.0.
    public var host = "127.0.0.1"
    public var port = 8080
    public var tokens = TokenRegistry(entries: [:])
    /// Largest request body: a job spec's own limit (a spec names files, it never carries them).
    public var maxBodyBytes = JobSpec.maxBytes
    /// Largest upload (`PUT /v1/uploads/{name}`): streamed to disk, never held in memory, so far larger.
    public var maxUploadBytes: Int64 = 4 << 30
    /// Requests per second a token may make when its line in the tokens file sets none.
    public var defaultRate = 50.0

    public init() {}

    /// The port comes from the service's configuration (REFRAME_HTTP_PORT, read once there).
    public static func fromEnvironment(service: ServiceConfiguration,
                                       _ env: [String: String] = ProcessInfo.processInfo.environment) throws -> APIConfiguration {
        var config = APIConfiguration()
        config.port = service.httpPort
        if let host = env[.httpHost], !host.isEmpty { config.host = host }
        if let text = env[.apiMaxBody] {
            guard let bytes = Int(text), bytes > 0 else { throw APIConfigurationError("REFRAME_API_MAX_BODY '\(text)' is not a byte count") }
            config.maxBodyBytes = bytes
        }
        if let text = env[.apiMaxUpload] {
            guard let bytes = Int64(text), bytes > 0 else { throw APIConfigurationError("REFRAME_API_MAX_UPLOAD '\(text)' is not a byte count") }
            config.maxUploadBytes = bytes
        }
        if let text = env[.apiRate] {
            guard let rate = Double(text), rate > 0 else { throw APIConfigurationError("REFRAME_API_RATE '\(text)' is not a positive rate") }
            config.defaultRate = rate
        }
        if let path = env[.apiTokens], !path.isEmpty {
            config.tokens = try TokenRegistry.load(path: path, defaultRate: config.defaultRate)
        }
        return config
    }
}

public struct APIConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
