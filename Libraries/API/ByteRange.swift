import Foundation

/// One range of an HTTP `Range: bytes=…` header (RFC 9110 §14.1.2) resolved against a file size.
/// Several ranges in one header are not served: a download client asks for one.
struct ByteRange: Equatable {
    var start: Int
    var end: Int // inclusive
    var count: Int { end - start + 1 }

    enum Failure: Error, Equatable {
        /// Not a single bytes range: the header is ignored and the whole file sent, as RFC 9110 allows.
        case unsupported
        /// Well formed but outside the file: 416.
        case unsatisfiable
    }

    static func parse(_ header: String, size: Int) throws(Failure) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { throw .unsupported }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .unsupported }
        if parts[0].isEmpty {
            // A suffix: the last n bytes.
            guard let n = Int(parts[1]), n >= 0 else { throw .unsupported }
            guard n > 0, size > 0 else { throw .unsatisfiable }
            return ByteRange(start: max(0, size - n), end: size - 1)
        }
        guard let start = Int(parts[0]), start >= 0 else { throw .unsupported }
        let end: Int
        if parts[1].isEmpty { end = size - 1 } else {
            guard let last = Int(parts[1]), last >= start else { throw .unsupported }
            end = min(last, size - 1)
        }
        guard start < size else { throw .unsatisfiable }
        return ByteRange(start: start, end: end)
    }
}

