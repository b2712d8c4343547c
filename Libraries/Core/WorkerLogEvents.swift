/// Log messages a stage worker writes when a message is tried again, shared with the harness that
/// counts them in service logs (`reframe bench faults`), so the wording lives in one place.
public enum WorkerLogEvents {
    /// A message the broker delivered before (its worker died, lost its link or gave it back).
    public static let redelivered = "redelivered message"
    /// A transient failure retried inside the worker, without returning the message.
    public static let retryingInPlace = "transient failure; retrying in place"
    /// Metadata key of the broker's count of earlier deliveries on the `redelivered` line.
    public static let previousDeliveries = "previous_deliveries"
    /// Metadata key naming the stage on every line a worker logs about a message.
    public static let stage = "stage"
}
