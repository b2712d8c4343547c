import Core
import Foundation

/// The HTTP API's settings, from the environment (REFRAME_HTTP_HOST, REFRAME_HTTP_PORT,
/// REFRAME_API_TOKENS, REFRAME_API_MAX_BODY, REFRAME_API_RATE).
public struct APIConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 8080
    public var tokens = TokenRegistry(entries: [:])
    /// Largest request body: a job spec's own limit (a spec names files, it never carries them).
    public var maxBodyBytes = JobSpec.maxBytes
    /// Requests per second a token may make when its line in the tokens file sets none.
    public var defaultRate = 50.0

    public init() {}

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> APIConfiguration {
        var config = APIConfiguration()
        if let host = env["REFRAME_HTTP_HOST"], !host.isEmpty { config.host = host }
        if let text = env["REFRAME_HTTP_PORT"] {
            guard let port = Int(text), (0...65535).contains(port) else { throw APIConfigurationError("REFRAME_HTTP_PORT '\(text)' is not a port") }
            config.port = port
        }
        if let text = env["REFRAME_API_MAX_BODY"] {
            guard let bytes = Int(text), bytes > 0 else { throw APIConfigurationError("REFRAME_API_MAX_BODY '\(text)' is not a byte count") }
            config.maxBodyBytes = bytes
        }
        if let text = env["REFRAME_API_RATE"] {
            guard let rate = Double(text), rate > 0 else { throw APIConfigurationError("REFRAME_API_RATE '\(text)' is not a positive rate") }
            config.defaultRate = rate
        }
        if let path = env["REFRAME_API_TOKENS"], !path.isEmpty {
            config.tokens = try TokenRegistry.load(path: path, defaultRate: config.defaultRate)
        }
        return config
    }
}

public struct APIConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
