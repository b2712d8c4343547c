import Core

/// A bus inside one process with the broker's semantics that matter to stages: manual settlement,
/// prefetch, redelivery on retry, a delivery limit and a dead-letter queue.
public actor InMemoryBus: MessageBus {
    public nonisolated let names: QueueNames
    private let deliveryLimit: Int

    private struct Entry {
        var body: [UInt8]
        var headers: [String: String]
        var deliveries: Int
    }

    private struct Consumer {
        var id: Int
        var prefetch: Int
        var unsettled: Int
        var continuation: AsyncStream<BusDelivery>.Continuation
    }

    private struct Queue {
        var ready: [Entry] = []
        var consumers: [Consumer] = []
        var nextConsumer = 0
    }

    private var queues: [String: Queue] = [:]
    private var dead: [DeadLetter] = []
    private var nextID = 0
    private var closed = false

    public init(names: QueueNames = QueueNames(), deliveryLimit: Int = 5) {
        self.names = names
        self.deliveryLimit = deliveryLimit
    }

    public func publish(_ body: [UInt8], to queue: String, headers: [String: String]) async throws {
        guard !closed else { throw BusError.closed }
        guard queue == names.deadLetterQueue || queue == names.deadLetterNotices || names.workQueues.contains(queue) else {
            throw BusError.unroutable(queue)
        }
        queues[queue, default: Queue()].ready.append(Entry(body: body, headers: headers, deliveries: 0))
        dispatch(queue)
    }

    public func consume(_ queue: String, prefetch: Int) async throws -> AsyncStream<BusDelivery> {
        guard !closed else { throw BusError.closed }
        let (stream, continuation) = AsyncStream<BusDelivery>.makeStream()
        nextID += 1
        queues[queue, default: Queue()].consumers.append(Consumer(id: nextID, prefetch: max(1, prefetch), unsettled: 0, continuation: continuation))
        dispatch(queue)
        return stream
    }

    public func drainDeadLetters(limit: Int) async throws -> [DeadLetter] {
        let taken = Array(dead.prefix(limit))
        dead.removeFirst(taken.count)
        return taken
    }

    public func isConnected() -> Bool { !closed }

    public func close() async {
        closed = true
        for q in queues.values { for c in q.consumers { c.continuation.finish() } }
        queues = [:]
    }

    private func dispatch(_ name: String) {
        guard var q = queues[name] else { return }
        while !q.ready.isEmpty, !q.consumers.isEmpty {
            // Round-robin over consumers with prefetch room.
            var chosen: Int?
            for step in 0..<q.consumers.count {
                let i = (q.nextConsumer + step) % q.consumers.count
                if q.consumers[i].unsettled < q.consumers[i].prefetch { chosen = i; break }
            }
            guard let i = chosen else { break }
            q.nextConsumer = (i + 1) % q.consumers.count
            var entry = q.ready.removeFirst()
            let consumerID = q.consumers[i].id
            let delivered = entry
            q.consumers[i].unsettled += 1
            let delivery = BusDelivery(body: entry.body, queue: name, previousDeliveries: entry.deliveries, headers: entry.headers) {
                [weak self] settlement in
                await self?.settle(queue: name, consumer: consumerID, entry: delivered, settlement)
            }
            entry.deliveries += 1
            q.consumers[i].continuation.yield(delivery)
        }
        queues[name] = q
    }

    private func settle(queue name: String, consumer: Int, entry: Entry, _ settlement: BusDelivery.Settlement) {
        guard var q = queues[name] else { return }
        if let i = q.consumers.firstIndex(where: { $0.id == consumer }) { q.consumers[i].unsettled -= 1 }
        switch settlement {
        case .ack:
            break
        case .postpone:
            q.ready.append(Entry(body: entry.body, headers: entry.headers, deliveries: 0))
        case .retry:
            var again = entry
            again.deliveries += 1
            if again.deliveries >= deliveryLimit {
                queues[name] = q
                deadLetter(DeadLetter(body: entry.body, sourceQueue: name, reason: "delivery limit \(deliveryLimit) reached",
                                      deliveries: again.deliveries))
                q = queues[name] ?? q
            } else {
                q.ready.append(again)
            }
        case .deadLetter(let reason):
            queues[name] = q
            deadLetter(DeadLetter(body: entry.body, sourceQueue: name, reason: reason, deliveries: entry.deliveries + 1))
            q = queues[name] ?? q
        }
        queues[name] = q
        dispatch(name)
    }

    /// Like the broker's fanout dead-letter exchange: one copy kept, one to the notices queue.
    private func deadLetter(_ letter: DeadLetter) {
        dead.append(letter)
        let notices = names.deadLetterNotices
        queues[notices, default: Queue()].ready.append(Entry(body: letter.body, headers: letter.headers, deliveries: 0))
        dispatch(notices)
    }
}

public enum BusError: FaultClassifying, CustomStringConvertible, Sendable {
    case closed
    case unroutable(String)

    /// A closed bus means shutdown (the message returns to the queue); a missing queue is a wiring bug.
    public var isTransient: Bool {
        switch self {
        case .closed: return true
        case .unroutable: return false
        }
    }

    public var description: String {
        switch self {
        case .closed: return "bus closed"
        case .unroutable(let q): return "no queue named \(q)"
        }
    }
}
