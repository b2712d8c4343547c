import Foundation

/// A chunk reference inside a message. `index` is the global number of the chunk's first source
/// frame, so chunk ids are deterministic no matter which extractor cut them.
public struct ChunkRef: Codable, Sendable, Equatable, Hashable {
    public var index: Int
    public var firstFrame: Int
    public var frameCount: Int
    /// Whether the chunk carries the next chunk's first frame as lookahead.
    public var lookahead: Bool

    public init(index: Int, firstFrame: Int, frameCount: Int, lookahead: Bool) {
        self.index = index
        self.firstFrame = firstFrame
        self.frameCount = frameCount
        self.lookahead = lookahead
    }
}

/// The body of every work message (DESIGN.md §4): references only, never frame data.
public struct StageMessage: Codable, Sendable, Equatable {
    public var version: Int
    public var jobId: String
    public var stage: Stage
    /// Set on extract messages: which segment to decode.
    public var segment: Int?
    /// The chunk a per-chunk stage works on. On an extract message: store and pass on only this
    /// chunk of the segment (a retry whose stored frames expired).
    public var chunk: ChunkRef?
    /// Redis key prefix of the input chunk (absent for extract and finalize).
    public var input: String?
    /// Remaining hops after this stage, in order.
    public var next: [Stage]
    public var attempt: Int

    public init(jobId: String, stage: Stage, segment: Int? = nil, chunk: ChunkRef? = nil, input: String? = nil,
                next: [Stage] = [], attempt: Int = 1) {
        self.version = 1
        self.jobId = jobId
        self.stage = stage
        self.segment = segment
        self.chunk = chunk
        self.input = input
        self.next = next
        self.attempt = attempt
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes and checks a body; a malformed one throws `MessageError` naming the problem.
    /// The largest body a stage reads: messages carry references, never frames.
    public static let maxBytes = 64 << 10

    /// What a decoding failure was, in a few words.
    private static func reason(_ error: Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted?: return "not JSON"
        case .keyNotFound(let key, _)?: return "no '\(key.stringValue)'"
        case .typeMismatch(_, let ctx)?, .valueNotFound(_, let ctx)?: return "bad '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: return "\(error)"
        }
    }

    public static func decode(_ data: Data, expecting stage: Stage? = nil) throws -> StageMessage {
        guard data.count <= maxBytes else { throw MessageError("message body is \(data.count) bytes; the limit is \(maxBytes)") }
        let message: StageMessage
        do { message = try JSONDecoder().decode(StageMessage.self, from: data) } catch {
            let shown = String(decoding: data.prefix(60), as: UTF8.self).unicodeScalars.map { $0.value < 0x20 ? "?" : String($0) }.joined()
            throw MessageError("malformed message body (not a stage message: \(Self.reason(error))): \(shown)")
        }
        guard message.version == 1 else { throw MessageError("unsupported message version \(message.version)") }
        guard UUID(uuidString: message.jobId) != nil else { throw MessageError("jobId '\(message.jobId)' is not a UUID") }
        if let stage, message.stage != stage {
            throw MessageError("message for stage '\(message.stage.rawValue)' arrived on \(stage.queue)")
        }
        switch message.stage {
        case .extract:
            guard let s = message.segment, s >= 0 else { throw MessageError("extract message needs a segment index") }
        case .upscale, .interpolate, .encode:
            guard let c = message.chunk, c.frameCount > 0, c.firstFrame >= 0, c.index >= 0 else {
                throw MessageError("\(message.stage.rawValue) message needs a chunk with frames")
            }
            guard let input = message.input, input.hasPrefix(Keys.framesPrefix(message.jobId)) else {
                throw MessageError("\(message.stage.rawValue) message input must be a frames key of its job")
            }
        case .ingest, .finalize:
            break
        }
        guard message.attempt >= 1 else { throw MessageError("attempt must be ≥ 1") }
        return message
    }
}

/// A message the worker cannot act on; it goes to the dead-letter queue with this reason.
public struct MessageError: FaultClassifying, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var isTransient: Bool { false }
}
