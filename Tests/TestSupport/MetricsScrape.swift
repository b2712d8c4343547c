import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A service's `/metrics`, `/healthz` and `/readyz` read over HTTP on 127.0.0.1, as Prometheus and
/// a supervisor's probes read them.
public enum MetricsScrape {
    /// Status and body of `GET http://127.0.0.1:<port><path>`.
    public static func get(port: Int, _ path: String, timeout: Double = 5) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = timeout
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The samples of a Prometheus text exposition by series (`name{label="value",…}` as written).
    public static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// `samples[name{stage="stage"}]`, nil when the service never recorded it.
    public static func value(_ samples: [String: Double], _ name: String, stage: String) -> Double? {
        samples["\(name){stage=\"\(stage)\"}"]
    }
}
