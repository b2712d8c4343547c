import Core
import Crypto
import Foundation

/// Bearer tokens, known only by their SHA-256, each owned by a tenant. The tokens file has one
/// `<sha256-hex> <tenant> [requests-per-second]` line per token; `#` starts a comment.
public struct TokenRegistry: Sendable {
    public struct Entry: Sendable, Equatable {
        public var tenant: String
        public var rate: Double
    }

    /// Keyed by the lowercase hex SHA-256 of the token.
    public let entries: [String: Entry]

    public init(entries: [String: Entry]) { self.entries = entries }

    public static func load(path: String, defaultRate: Double) throws -> TokenRegistry {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw APIConfigurationError("cannot read REFRAME_API_TOKENS file \(path): \(error.localizedDescription)")
        }
        var entries: [String: Entry] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            if words.isEmpty { continue }
            let hash = words[0].lowercased()
            guard words.count == 2 || words.count == 3, hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                throw APIConfigurationError("\(path):\(n + 1): expected '<sha256-hex> <tenant> [requests-per-second]'")
            }
            // The tenant names its upload folder (UploadArea), so it must be a safe folder name.
            guard UploadArea.isUsableTenant(words[1]) else {
                throw APIConfigurationError("\(path):\(n + 1): tenant '\(words[1])' may hold only letters, digits, '.', '_' and '-'")
            }
            var rate = defaultRate
            if words.count == 3 {
                guard let r = Double(words[2]), r > 0 else { throw APIConfigurationError("\(path):\(n + 1): '\(words[2])' is not a positive rate") }
                rate = r
            }
            entries[hash] = Entry(tenant: words[1], rate: rate)
        }
        return TokenRegistry(entries: entries)
    }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The hash and entry of a presented token, nil when it is not configured.
    func lookup(_ token: String) -> (hash: String, entry: Entry)? {
        let hash = Self.hash(token)
        return entries[hash].map { (hash, $0) }
    }
}
