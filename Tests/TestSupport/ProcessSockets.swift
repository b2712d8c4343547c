import Foundation

/// The TCP connections of this machine's processes, read from /proc (Linux): which of the broker's
/// connections belong to which service, and which service waits on a server that stopped reading.
public enum ProcessSockets {
    struct Row {
        var localPort: Int
        var remotePort: Int
        /// Bytes received and not yet read by the socket's owner.
        var receiveQueue: Int
        var inode: String
    }

    /// Local ports of `pid`'s IPv4 TCP sockets connected to `remotePort`.
    public static func localPorts(pid: Int32, remotePort: Int) -> Set<Int> {
        let fdDir = "/proc/\(pid)/fd"
        let inodes = Set(((try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []).compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst("socket:[".count).dropLast())
        })
        return Set(table(pid).filter { inodes.contains($0.inode) && $0.remotePort == remotePort }.map(\.localPort))
    }

    /// Which of the client ports `clients` have sent a server on `serverPort` bytes it has not read:
    /// a request waiting on a stopped (SIGSTOP) server.
    public static func unreadRequests(from clients: Set<Int>, serverPort: Int) -> Set<Int> {
        Set(table(getpid()).filter { $0.localPort == serverPort && clients.contains($0.remotePort) && $0.receiveQueue > 0 }.map(\.remotePort))
    }

    /// /proc/<pid>/net/tcp: every IPv4 TCP socket of the process's network namespace.
    static func table(_ pid: Int32) -> [Row] {
        // Read to the end: /proc files report size 0, and a one-shot read stops after the first page.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/net/tcp"), let data = try? handle.readToEnd() else { return [] }
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
        return String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            let hex = { (field: Substring) in field.split(separator: ":").last.flatMap { Int($0, radix: 16) } }
            guard f.count > 9, let local = hex(f[1]), let remote = hex(f[2]), let rx = hex(f[4]) else { return nil }
            return Row(localPort: local, remotePort: remote, receiveQueue: rx, inode: String(f[9]))
        }
    }
}
