/// The pipeline stages; each one consumes exactly one queue.
public enum Stage: String, Codable, Sendable, CaseIterable {
    case ingest, extract, upscale, interpolate, encode, finalize

    /// The AMQP queue (and routing key) this stage consumes.
    public var queue: String { "reframe.\(rawValue)" }
}
