import CRabbitMQ
import Core
import Foundation
import Logging

/// An AMQP 0-9-1 connection over rabbitmq-c, owned by one dedicated I/O thread.
///
/// rabbitmq-c is not thread-safe and only sends heartbeats while inside its own calls, so every
/// socket operation runs on this thread, which never does anything slow: long computations elsewhere
/// cannot starve heartbeats. Other threads hand it commands through a queue and a wake-up pipe.
/// Publishes wait for the broker's confirm. A broken connection is re-established with back-off,
/// the topology redeclared and consumers resubscribed; unacknowledged deliveries are redelivered by
/// the broker, so acks meant for the old connection are dropped.
public final class AMQPConnection: @unchecked Sendable {
    /// Seconds between heartbeats unless a caller asks for another interval.
    public static let defaultHeartbeat = 30

    public let endpoint: AMQPEndpoint
    private let heartbeat: Int
    private let logger: Logger
    private let topology: AMQPTopology
    private let publishTimeout: Double

    private let lock = NSLock()
    private var commands: [Command] = []
    private var consumers: [String: Consumer] = [:]
    private var running = true
    private var connectedOnce = false
    /// Set by the I/O thread, read by others (under `lock`): `conn` itself is the thread's alone.
    private var up = false
    /// When the connection broke, until it is back: for the log line that says how long it took.
    private var lostAt: Date?
    private var firstConnectError: Error?
    private let connected = DispatchSemaphore(value: 0)

    // I/O thread state.
    private var conn: amqp_connection_state_t?
    private var generation = 0
    private var nextPublishSeq: UInt64 = 1
    private var pendingConfirms: [UInt64: PendingPublish] = [:]
    private var returnedSeqs: Set<UInt64> = []
    /// Consumer tags subscribed on the current connection (a queued consume may meet a reconnect that already did it).
    private var subscribed: Set<String> = []
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var thread: Thread?

    private struct Consumer {
        var queue: String
        var prefetch: Int
        var continuation: AsyncStream<AMQPDelivery>.Continuation
    }

    private struct PendingPublish {
        var continuation: CheckedContinuation<Void, Error>
        var deadline: Date
    }

    private enum Command {
        case publish(exchange: String, routingKey: String, body: [UInt8], headers: [(String, String)], mandatory: Bool,
                     deadline: Date, CheckedContinuation<Void, Error>)
        case ack(UInt64, generation: Int)
        case reject(UInt64, requeue: Bool, generation: Int)
        case consume(tag: String)
        case getOne(queue: String, CheckedContinuation<AMQPDelivery?, Error>)
        case purge(queue: String, CheckedContinuation<Int, Error>)
    }

    /// Connects (throwing if the first attempt fails) and starts the I/O thread. `heartbeat` is the
    /// interval (seconds) proposed to the broker; a link silent for two intervals counts as dead.
    public init(url: String, topology: AMQPTopology, heartbeat: Int = AMQPConnection.defaultHeartbeat, publishTimeout: Double = 30, logger: Logger) throws {
        endpoint = try AMQPEndpoint(url: url)
        self.heartbeat = heartbeat
        self.logger = logger
        self.topology = topology
        self.publishTimeout = publishTimeout
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw AMQPError.connection("cannot create wake-up pipe") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, O_NONBLOCK)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "amqp-io"
        self.thread = thread
        thread.start()
        connected.wait()
        if let error = firstConnectError {
            close()
            throw error
        }
    }

    deinit {
        if wakeRead >= 0 { Foundation.close(wakeRead) }
        if wakeWrite >= 0 { Foundation.close(wakeWrite) }
    }

    /// Whether the connection is open now (false while it is being re-established and once closed).
    public var isConnected: Bool { lock.withLock { up && running } }

    /// Stops the I/O thread and closes the connection. Pending publishes fail with `.closed`.
    public func close() {
        lock.lock()
        let wasRunning = running
        running = false
        let open = consumers
        consumers = [:]
        lock.unlock()
        for c in open.values { c.continuation.finish() }
        if wasRunning { wake() }
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Publishes a persistent message with string `headers` (at most 8) and returns once the broker confirmed it.
    public func publish(exchange: String, routingKey: String, body: [UInt8], headers: [(String, String)] = [],
                        mandatory: Bool = true) async throws {
        precondition(headers.count <= 8, "at most 8 headers")
        let deadline = Date().addingTimeInterval(publishTimeout)
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            enqueue(.publish(exchange: exchange, routingKey: routingKey, body: body, headers: headers, mandatory: mandatory,
                             deadline: deadline, c))
        }
    }

    /// Subscribes to a queue with manual acks and the given prefetch. The stream ends when the connection closes.
    public func consume(queue: String, prefetch: Int) -> AsyncStream<AMQPDelivery> {
        let tag = "reframe-\(queue)-\(UUID().uuidString.prefix(8))"
        let (stream, continuation) = AsyncStream<AMQPDelivery>.makeStream()
        lock.lock()
        consumers[tag] = Consumer(queue: queue, prefetch: prefetch, continuation: continuation)
        lock.unlock()
        enqueue(.consume(tag: tag))
        return stream
    }

    public func ack(_ delivery: AMQPDelivery) {
        enqueue(.ack(delivery.deliveryTag, generation: delivery.generation))
    }

    public func reject(_ delivery: AMQPDelivery, requeue: Bool) {
        enqueue(.reject(delivery.deliveryTag, requeue: requeue, generation: delivery.generation))
    }

    /// Fetches one message without a subscription (basic.get); nil when the queue is empty.
    public func get(queue: String) async throws -> AMQPDelivery? {
        try await withCheckedThrowingContinuation { c in enqueue(.getOne(queue: queue, c)) }
    }

    /// Removes all ready messages from a queue; returns how many.
    public func purge(queue: String) async throws -> Int {
        try await withCheckedThrowingContinuation { c in enqueue(.purge(queue: queue, c)) }
    }

    private func enqueue(_ command: Command) {
        lock.lock()
        guard running else {
            lock.unlock()
            fail(command, AMQPError.closed)
            return
        }
        commands.append(command)
        lock.unlock()
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func fail(_ command: Command, _ error: Error) {
        switch command {
        case .publish(_, _, _, _, _, _, let c): c.resume(throwing: error)
        case .getOne(_, let c): c.resume(throwing: error)
        case .purge(_, let c): c.resume(throwing: error)
        case .ack, .reject, .consume: break
        }
    }

    // MARK: - I/O thread

    private func isRunning() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    private func run() {
        // Capped low so a broker that is back is found within ~2 s; refused connects are cheap.
        let backoff = Backoff(initial: 0.1, maximum: 2)
        var attempt = 0
        while isRunning() {
            if conn == nil {
                do {
                    try connect()
                    lock.withLock { up = true }
                    attempt = 0
                    if let lostAt {
                        logger.notice("AMQP reconnected", metadata: [
                            "broker": "\(endpoint.host):\(endpoint.port)", "down_s": "\(String(format: "%.2f", Date().timeIntervalSince(lostAt)))"])
                        self.lostAt = nil
                    }
                    if !connectedOnce { connectedOnce = true; connected.signal() }
                } catch {
                    if !connectedOnce {
                        firstConnectError = error
                        connectedOnce = true
                        connected.signal()
                        return
                    }
                    let delay = backoff.delay(attempt: attempt)
                    attempt += 1
                    logger.warning("AMQP reconnect failed, retrying", metadata: ["error": "\(error)", "backoff_s": "\(String(format: "%.2f", delay))"])
                    failExpiredCommands()
                    Thread.sleep(forTimeInterval: delay)
                    continue
                }
            }
            do {
                try serviceOnce()
            } catch {
                logger.warning("AMQP connection lost; reconnecting", metadata: ["broker": "\(endpoint.host):\(endpoint.port)", "error": "\(error)"])
                lostAt = Date()
                teardown(error: error)
            }
        }
        teardown(error: AMQPError.closed)
        lock.lock()
        let left = commands
        commands = []
        lock.unlock()
        for c in left { fail(c, AMQPError.closed) }
    }

    /// Waits for the socket or a command, then handles both.
    private func serviceOnce() throws {
        guard let conn else { return }
        if amqp_frames_enqueued(conn) == 0 && amqp_data_in_buffer(conn) == 0 {
            var fds = [pollfd(fd: amqp_get_sockfd(conn), events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            // Wake at least every second so heartbeats are sent and deadlines checked.
            _ = poll(&fds, 2, 1000)
        }
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &sink, 64) > 0 {}
        try runCommands()
        try readFrames()
        expireConfirms()
    }

    private func runCommands() throws {
        lock.lock()
        let batch = commands
        commands = []
        lock.unlock()
        var pending = batch[...]
        do {
            while let command = pending.popFirst() { try run(command) }
        } catch {
            // Put back what was not run so it goes out after reconnect.
            lock.lock()
            commands.insert(contentsOf: pending, at: 0)
            lock.unlock()
            throw error
        }
    }

    private func run(_ command: Command) throws {
        guard let conn else { throw AMQPError.closed }
        switch command {
        case let .publish(exchange, routingKey, body, headers, mandatory, deadline, continuation):
            // strdup'd C strings live until the call returns (the shim copies nothing it keeps).
            let keys = headers.map { strdup($0.0) }, values = headers.map { strdup($0.1) }
            defer { (keys + values).forEach { free($0) } }
            let status = body.withUnsafeBytes { raw in
                keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
                    values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                        reframe_amqp_publish(conn, 1, exchange, routingKey, raw.baseAddress, raw.count, mandatory ? 1 : 0,
                                             k.baseAddress, v.baseAddress, Int32(headers.count))
                    }
                }
            }
            guard status == AMQP_STATUS_OK.rawValue else {
                continuation.resume(throwing: AMQPError.connection(String(cString: amqp_error_string2(status))))
                throw AMQPError.connection(String(cString: amqp_error_string2(status)))
            }
            pendingConfirms[nextPublishSeq] = PendingPublish(continuation: continuation, deadline: deadline)
            nextPublishSeq += 1
        case let .ack(tag, gen):
            guard gen == generation else { return dropStale("ack", tag: tag) }
            let status = amqp_basic_ack(conn, 1, tag, 0)
            if status != AMQP_STATUS_OK.rawValue { throw AMQPError.connection(String(cString: amqp_error_string2(status))) }
        case let .reject(tag, requeue, gen):
            guard gen == generation else { return dropStale("reject", tag: tag) }
            let status = amqp_basic_reject(conn, 1, tag, requeue ? 1 : 0)
            if status != AMQP_STATUS_OK.rawValue { throw AMQPError.connection(String(cString: amqp_error_string2(status))) }
        case let .consume(tag):
            lock.lock()
            let consumer = consumers[tag]
            lock.unlock()
            if let consumer { try subscribe(tag: tag, consumer) }
        case let .getOne(queue, continuation):
            do { continuation.resume(returning: try basicGet(queue)) } catch {
                continuation.resume(throwing: error)
                throw error
            }
        case let .purge(queue, continuation):
            do {
                var count: UInt32 = 0
                try check(reframe_amqp_purge(conn, 1, queue, &count), "purge \(queue)")
                continuation.resume(returning: Int(count))
            } catch {
                continuation.resume(throwing: error)
                throw error
            }
        }
    }

    /// A delivery taken on an earlier connection: the broker put it back when that connection died (and
    /// may have handed it to another worker), so there is nothing left to settle. Said, because it
    /// means this worker's late result raced a redelivery (harmless: every step is idempotent).
    private func dropStale(_ settlement: String, tag: UInt64) {
        logger.notice("\(settlement) of a delivery from a lost connection dropped; the broker redelivered that message",
                      metadata: ["delivery_tag": "\(tag)"])
    }

    private func subscribe(tag: String, _ consumer: Consumer) throws {
        guard let conn else { throw AMQPError.closed }
        guard !subscribed.contains(tag) else { return }
        // Prefetch is per channel; each service has one consumer per connection, so this is per consumer.
        amqp_basic_qos(conn, 1, 0, UInt16(clamping: consumer.prefetch), 0)
        _ = try rpcReply("basic.qos")
        try check(reframe_amqp_consume(conn, 1, consumer.queue, tag), "basic.consume \(consumer.queue)")
        subscribed.insert(tag)
    }

    private func basicGet(_ queue: String) throws -> AMQPDelivery? {
        guard let conn else { throw AMQPError.closed }
        let reply = reframe_amqp_get(conn, 1, queue)
        try check(reply, "basic.get \(queue)")
        guard reply.reply.id == AMQP_BASIC_GET_OK_METHOD else { return nil }
        let ok = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        var message = amqp_message_t()
        try check(amqp_read_message(conn, 1, &message, 0), "read message")
        defer { amqp_destroy_message(&message) }
        return makeDelivery(body: message.body, properties: &message.properties, tag: ok.delivery_tag,
                            redelivered: ok.redelivered != 0, routingKey: ok.routing_key)
    }

    private func readFrames() throws {
        guard let conn else { return }
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        while true {
            var envelope = amqp_envelope_t()
            let reply = amqp_consume_message(conn, &envelope, &zero, 0)
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                deliver(&envelope)
                amqp_destroy_envelope(&envelope)
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
                return
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
                try handleNonDeliveryFrame()
            default:
                throw AMQPError.connection(describe(reply))
            }
            amqp_maybe_release_buffers(conn)
        }
    }

    private func handleNonDeliveryFrame() throws {
        guard let conn else { return }
        var frame = amqp_frame_t()
        let status = amqp_simple_wait_frame(conn, &frame)
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.connection(String(cString: amqp_error_string2(status))) }
        guard frame.frame_type == AMQP_FRAME_METHOD else { return }
        let method = frame.payload.method
        switch method.id {
        case AMQP_BASIC_ACK_METHOD:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            settle(upTo: ack.delivery_tag, multiple: ack.multiple != 0, error: nil)
        case AMQP_BASIC_NACK_METHOD:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            settle(upTo: nack.delivery_tag, multiple: nack.multiple != 0, error: AMQPError.notConfirmed("broker nacked the message"))
        case AMQP_BASIC_RETURN_METHOD:
            // A mandatory message that no queue took; its ack follows, so mark the oldest unsettled publish.
            let ret = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            var message = amqp_message_t()
            let r = amqp_read_message(conn, frame.channel, &message, 0)
            if r.reply_type == AMQP_RESPONSE_NORMAL { amqp_destroy_message(&message) }
            if let oldest = pendingConfirms.keys.filter({ !returnedSeqs.contains($0) }).min() {
                returnedSeqs.insert(oldest)
            }
            logger.warning("AMQP message returned", metadata: ["reply": "\(ret.reply_code)"])
        case AMQP_CHANNEL_CLOSE_METHOD, AMQP_CONNECTION_CLOSE_METHOD:
            let reply = amqp_rpc_reply_t(reply_type: AMQP_RESPONSE_SERVER_EXCEPTION, reply: method, library_error: 0)
            throw AMQPError.broker(describe(reply))
        case AMQP_BASIC_CANCEL_METHOD:
            throw AMQPError.broker("consumer cancelled by the broker (queue deleted?)")
        default:
            break
        }
    }

    private func settle(upTo tag: UInt64, multiple: Bool, error: Error?) {
        let tags = multiple ? pendingConfirms.keys.filter { $0 <= tag } : [tag]
        for t in tags.sorted() {
            guard let pending = pendingConfirms.removeValue(forKey: t) else { continue }
            if returnedSeqs.remove(t) != nil {
                pending.continuation.resume(throwing: AMQPError.notConfirmed("unroutable: no queue is bound for it"))
            } else if let error {
                pending.continuation.resume(throwing: error)
            } else {
                pending.continuation.resume()
            }
        }
    }

    private func expireConfirms() {
        let now = Date()
        for (tag, pending) in pendingConfirms where pending.deadline < now {
            pendingConfirms.removeValue(forKey: tag)
            pending.continuation.resume(throwing: AMQPError.timeout("no confirm within \(publishTimeout) s"))
        }
    }

    /// While disconnected, publishes past their deadline fail instead of waiting forever.
    private func failExpiredCommands() {
        let now = Date()
        lock.lock()
        var keep: [Command] = []
        var expired: [Command] = []
        for c in commands {
            if case .publish(_, _, _, _, _, let deadline, _) = c, deadline < now { expired.append(c) } else { keep.append(c) }
        }
        commands = keep
        lock.unlock()
        for c in expired { fail(c, AMQPError.timeout("broker unreachable for \(publishTimeout) s")) }
    }

    private func deliver(_ envelope: inout amqp_envelope_t) {
        let tag = String(decoding: UnsafeRawBufferPointer(start: envelope.consumer_tag.bytes, count: envelope.consumer_tag.len), as: UTF8.self)
        let delivery = makeDelivery(body: envelope.message.body, properties: &envelope.message.properties,
                                    tag: envelope.delivery_tag, redelivered: envelope.redelivered != 0,
                                    routingKey: envelope.routing_key)
        lock.lock()
        let consumer = consumers[tag]
        lock.unlock()
        consumer?.continuation.yield(delivery)
    }

    private func makeDelivery(body: amqp_bytes_t, properties: inout amqp_basic_properties_t, tag: UInt64, redelivered: Bool,
                              routingKey: amqp_bytes_t) -> AMQPDelivery {
        let bytes = body.len > 0 ? Array(UnsafeRawBufferPointer(start: body.bytes, count: body.len)) : []
        let count = reframe_amqp_delivery_count(&properties)
        var headers: [String: String] = [:]
        var name = [CChar](repeating: 0, count: 256), value = [CChar](repeating: 0, count: 4096)
        for i in 0..<reframe_amqp_header_count(&properties) {
            let n = reframe_amqp_header_at(&properties, i, &name, name.count, &value, value.count)
            if n >= 0 { headers[String(cString: name)] = String(decoding: value.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        let key = String(decoding: UnsafeRawBufferPointer(start: routingKey.bytes, count: routingKey.len), as: UTF8.self)
        return AMQPDelivery(body: bytes, deliveryTag: tag, redelivered: redelivered, routingKey: key,
                            deliveryCount: count >= 0 ? Int(count) : nil, headers: headers, generation: generation)
    }

    // MARK: connect / teardown

    private func connect() throws {
        guard let state = amqp_new_connection() else { throw AMQPError.connection("cannot allocate connection") }
        var ok = false
        defer { if !ok { amqp_connection_close(state, AMQP_REPLY_SUCCESS); amqp_destroy_connection(state) } }
        guard let socket = amqp_tcp_socket_new(state) else { throw AMQPError.connection("cannot create socket") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError.connection("\(endpoint.host):\(endpoint.port): \(String(cString: amqp_error_string2(status)))")
        }
        try check(reframe_amqp_login(state, endpoint.vhost, 0, 131072, Int32(heartbeat), endpoint.user, endpoint.password), "login")
        amqp_channel_open(state, 1)
        try check(amqp_get_rpc_reply(state), "channel.open")
        amqp_confirm_select(state, 1)
        try check(amqp_get_rpc_reply(state), "confirm.select")
        conn = state
        subscribed = []
        generation += 1
        nextPublishSeq = 1
        do {
            try declare()
            lock.lock()
            let subs = consumers
            lock.unlock()
            for (tag, consumer) in subs { try subscribe(tag: tag, consumer) }
        } catch {
            conn = nil
            throw error
        }
        ok = true
        logger.debug("AMQP connected", metadata: ["host": "\(endpoint.host):\(endpoint.port)", "vhost": "\(endpoint.vhost)"])
    }

    private func declare() throws {
        guard let conn else { return }
        for e in topology.exchanges {
            try check(reframe_amqp_declare_exchange(conn, 1, e.name, e.type), "declare exchange \(e.name)")
        }
        for q in topology.queues {
            try check(reframe_amqp_declare_queue(conn, 1, q.name, q.quorum ? 1 : 0, q.deadLetterExchange, Int32(q.xDeliveryLimit ?? -1)),
                      "declare queue \(q.name)")
        }
        for b in topology.bindings {
            try check(reframe_amqp_bind(conn, 1, b.queue, b.exchange, b.routingKey), "bind \(b.queue)")
        }
    }

    private func teardown(error: Error) {
        lock.withLock { up = false }
        if let conn {
            amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS)
            amqp_connection_close(conn, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(conn)
        }
        conn = nil
        for (_, pending) in pendingConfirms { pending.continuation.resume(throwing: AMQPError.connection("connection lost before confirm: \(error)")) }
        pendingConfirms = [:]
        returnedSeqs = []
    }

    @discardableResult
    private func rpcReply(_ what: String) throws -> UnsafeMutableRawPointer? {
        guard let conn else { throw AMQPError.closed }
        let reply = amqp_get_rpc_reply(conn)
        try check(reply, what)
        return reply.reply.decoded
    }

    private func check(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        guard reply.reply_type != AMQP_RESPONSE_NORMAL else { return }
        let text = describe(reply)
        if reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION { throw AMQPError.broker("\(what): \(text)") }
        throw AMQPError.connection("\(what): \(text)")
    }

    private func describe(_ reply: amqp_rpc_reply_t) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        reframe_amqp_describe_reply(reply, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
