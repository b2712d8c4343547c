import Foundation

/// HTTP load from Debian's `wrk` (installed on first use): requests per second and latency
/// percentiles of one request, repeated over `connections` connections for `seconds`.
public enum Wrk {
    public struct Result: Sendable {
        public var requestsPerSecond: Double
        public var requests: Int
        /// Answers other than 2xx/3xx (a 429 from the rate limit, a 5xx): zero in a clean run.
        public var non2xx: Int
        public var socketErrors: Int
        /// Latency percentiles in milliseconds, by percentile (50, 75, 90, 99).
        public var latencyMs: [Int: Double]
        public var p50: Double { latencyMs[50] ?? .nan }
        public var p99: Double { latencyMs[99] ?? .nan }
    }

    public struct Request: Sendable {
        public var method = "GET"
        public var url: String
        public var headers: [String: String] = [:]
        public var body: String?
        public init(method: String = "GET", url: String, headers: [String: String] = [:], body: String? = nil) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    public static let path = "/usr/bin/wrk"

    /// Installs the `wrk` package when it is missing (apt, as the test command installs its own).
    public static func install() throws {
        guard !FileManager.default.isExecutableFile(atPath: path) else { return }
        _ = try ExternalTool.run("/usr/bin/apt-get", ["update", "-qq"])
        _ = try ExternalTool.run("/usr/bin/apt-get", ["install", "-y", "-qq", "--no-install-recommends", "wrk"])
    }

    /// Runs `request` for `seconds` over `connections` connections and `threads` threads.
    public static func run(_ request: Request, seconds: Int, connections: Int, threads: Int) throws -> Result {
        // The method, body and headers go through a Lua script: wrk's command line sets only headers.
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("wrk-\(UUID().uuidString.prefix(8)).lua").path
        var lua = "wrk.method = \(luaString(request.method))\n"
        if let body = request.body { lua += "wrk.body = \(luaString(body))\n" }
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) { lua += "wrk.headers[\(luaString(name))] = \(luaString(value))\n" }
        try lua.write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let output = try ExternalTool.run(path, ["--latency", "-t", String(threads), "-c", String(connections), "-d", "\(seconds)s",
                                                 "--timeout", "10s", "-s", script, request.url])
        return try parse(output)
    }

    /// Reads wrk's report (with `--latency`).
    public static func parse(_ report: String) throws -> Result {
        var result = Result(requestsPerSecond: .nan, requests: 0, non2xx: 0, socketErrors: 0, latencyMs: [:])
        var inDistribution = false
        for raw in report.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Latency Distribution") { inDistribution = true; continue }
            if inDistribution, words.count == 2, words[0].hasSuffix("%"), let pct = Int(words[0].dropLast()) {
                result.latencyMs[pct] = milliseconds(String(words[1]))
                continue
            }
            inDistribution = false
            if line.hasPrefix("Requests/sec:"), let v = words.last.flatMap({ Double($0) }) { result.requestsPerSecond = v }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let v = words.last.flatMap({ Int($0) }) { result.non2xx = v }
            if words.count > 2, words[1] == "requests", words[2] == "in", let v = Int(words[0]) { result.requests = v }
            if line.hasPrefix("Socket errors:") {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                result.socketErrors = line.dropFirst("Socket errors:".count).split(separator: ",")
                    .compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
            }
        }
        guard result.requestsPerSecond.isFinite, result.latencyMs[99] != nil else {
            throw ExternalTool.Failure(command: "wrk", status: 0, errors: "unreadable report:\n\(report)")
        }
        return result
    }

    /// "812.00us", "1.23ms", "2.01s" → milliseconds.
    static func milliseconds(_ text: String) -> Double {
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("m", 60_000.0), ("s", 1000.0)] where text.hasSuffix(unit) {
            if let v = Double(text.dropLast(unit.count)) { return v * scale }
        }
        return .nan
    }

    static func luaString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
