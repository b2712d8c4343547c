import CFFmpeg
import Core
import Foundation

/// Errors from libav*, swscale and zstd, with the library's own message.
public enum MediaError: FaultClassifying, CustomStringConvertible, Sendable, Equatable {
    case libav(String, code: Int32)
    case unsupported(String)
    case invalidData(String)
    case compression(String)
    /// A source the pipeline cannot use, said in words for the person who submitted it (what is
    /// wrong and what to do).
    case unusableSource(String)

    /// Media errors describe the input or the codec settings and recur on every try, except a
    /// libav call that ran out of memory or was interrupted.
    public var isTransient: Bool {
        guard case .libav(_, let code) = self else { return false }
        return [ENOMEM, EAGAIN, EINTR].contains(-code)
    }

    public var description: String {
        switch self {
        case .libav(let what, let code): return "\(what): \(avErrorString(code))"
        case .unsupported(let m): return "unsupported: \(m)"
        case .invalidData(let m): return "invalid data: \(m)"
        case .compression(let m): return "compression: \(m)"
        case .unusableSource(let m): return m
        }
    }
}

/// AVERROR_INVALIDDATA (FFERRTAG 'I','N','D','A'), which Swift cannot import from its macro.
let averrorInvalidData: Int32 = -(0x49 | 0x4E << 8 | 0x44 << 16 | 0x41 << 24)

func avErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    _ = reframe_av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws for negative libav return codes; returns non-negative ones.
@discardableResult
func check(_ code: Int32, _ what: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw MediaError.libav(what(), code: code) }
    return code
}

let averrorEAGAIN = reframe_averror_eagain()
let averrorEOF = reframe_averror_eof()
let noPTS = reframe_av_nopts()
