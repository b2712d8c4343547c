import Foundation

/// The TCP connections a process holds, read from /proc (Linux): which of the broker's connections
/// belong to which service.
public enum ProcessSockets {
    /// Local ports of `pid`'s IPv4 TCP sockets connected to `remotePort`.
    public static func localPorts(pid: Int32, remotePort: Int) -> Set<Int> {
        let fdDir = "/proc/\(pid)/fd"
        let inodes = Set(((try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []).compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst("socket:[".count).dropLast())
        })
        // Read to the end: /proc files report size 0, and a one-shot read stops after the first page.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/net/tcp"), let data = try? handle.readToEnd() else { return [] }
        let table = String(decoding: data, as: UTF8.self)
        var ports = Set<Int>()
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9, inodes.contains(String(f[9])),
                  let remote = f[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }), remote == remotePort,
                  let local = f[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) else { continue }
            ports.insert(local)
        }
        return ports
    }
}
