import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on 127.0.0.1 that a test can cut like a network link: `cut()` stops forwarding in
/// both directions without closing any socket (no FIN, no RST: only heartbeats can tell the link is
/// gone), `restore()` forwards again. Plain POSIX sockets on threads of its own, so it keeps working
/// whatever the test's tasks do.
public final class TCPRelay: @unchecked Sendable {
    /// Where clients connect.
    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var isCut = false
    private var running = true
    private var open: Set<Int32> = []

    public enum Failure: Error { case socket(String) }

    /// Relays 127.0.0.1:`port` (chosen by the kernel) to 127.0.0.1:`targetPort`.
    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.socket("socket: \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { Glibc.close(fd); throw Failure.socket("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "relay-accept"
        thread.start()
    }

    deinit { close() }

    /// Stops forwarding; every socket stays open and unread, as behind a pulled cable.
    public func cut() { lock.withLock { isCut = true } }

    /// Forwards again, what was held first.
    public func restore() { lock.withLock { isCut = false } }

    /// Closes the listener and every relayed connection.
    public func close() {
        let fds: Set<Int32> = lock.withLock {
            guard running else { return [] }
            running = false
            return open.union([listener])
        }
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }
    }

    /// The local ports of the relay's connections to the target: the broker lists them as its peers.
    public var upstreamPorts: Set<Int> {
        lock.withLock { open }.compactMap { fd -> Int? in
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            }
            guard ok == 0, Int(UInt16(bigEndian: address.sin_port)) == targetPort else { return nil }
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        }.reduce(into: Set<Int>()) { $0.insert($1) }
    }

    private var state: (running: Bool, cut: Bool) { lock.withLock { (running, isCut) } }

    private func acceptLoop() {
        while state.running {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { Glibc.close(client); Glibc.close(upstream); continue }
            lock.withLock { open.formUnion([client, upstream]) }
            let thread = Thread { [self] in pump(client, upstream) }
            thread.name = "relay-pump"
            thread.start()
        }
    }

    /// Copies bytes both ways until either side closes; while cut, reads nothing and writes nothing.
    private func pump(_ a: Int32, _ b: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        loop: while true {
            let (running, cut) = state
            guard running else { return }
            if cut { usleep(20_000); continue }
            var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 50) > 0, !self.state.cut else { continue }
            for (from, to) in [(0, 1), (1, 0)] where fds[from].revents != 0 {
                let n = read(fds[from].fd, &buffer, buffer.count)
                guard n > 0, writeAll(fds[to].fd, buffer, n) else { break loop }
            }
        }
        // After `close()` the sockets are closed already.
        let mine = lock.withLock { () -> Bool in
            guard self.running else { return false }
            open.subtract([a, b])
            return true
        }
        if mine { Glibc.close(a); Glibc.close(b) }
    }

    private func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var sent = 0
        while sent < count {
            // send, not write: a peer that closed must not raise SIGPIPE in the test process.
            let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        return address
    }
}
