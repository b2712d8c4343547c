import Foundation

/// Hosts on one machine: a Linux network namespace per host, each with only its own loopback and
/// one veth link to a bridge (in a namespace of its own), on a private /24. The machine running
/// the test joins the bridge as `.254`, as a client on the same network would.
///
/// What runs in a host sees the others only by their addresses: nothing can reach another host's
/// loopback, so a stage that silently relied on "localhost" would fail here.
///
/// Needs root and iproute2 (`ip netns`). Everything is recorded under `runDirectory/lan-<id>` so
/// that `scripts/services.sh stop` removes it even when the test crashed.
public final class VirtualLAN: @unchecked Sendable {
    public struct Host: Sendable {
        public let name: String
        /// The network namespace's name (`ip netns exec <namespace> …`).
        public let namespace: String
        public let address: String
    }

    public enum Failure: Error, CustomStringConvertible {
        /// Namespaces cannot be created here (not root, no iproute2, no permission in a container).
        case unavailable(String)
        case command(String)
        public var description: String {
            switch self {
            case .unavailable(let m): return "network namespaces unavailable: \(m)"
            case .command(let m): return m
            }
        }
    }

    public let hosts: [String: Host]
    /// This machine's own address on the LAN (the client side).
    public let clientAddress: String
    /// Where the LAN is recorded (`namespaces`, and what `recordBroker` adds).
    public let directory: String
    private let namespaces: [String]
    private let lock = NSLock()
    private var removed = false

    /// Creates hosts `names` (at `.1`, `.2`, … in order) on a fresh /24 of 10.0.0.0/8 that no route
    /// of this machine uses.
    public init(hostNames names: [String], runDirectory: String) throws {
        let ip = try Self.ipTool()
        let id = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(6)).lowercased()
        directory = "\(runDirectory)/lan-\(id)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let subnet = try Self.unusedSubnet(ip)
        let bridgeNamespace = "rf\(id)-lan"
        var hosts: [String: Host] = [:]
        for (i, name) in names.enumerated() {
            hosts[name] = Host(name: name, namespace: "rf\(id)-\(name)", address: "\(subnet).\(i + 1)")
        }
        self.hosts = hosts
        clientAddress = "\(subnet).254"
        namespaces = [bridgeNamespace] + names.map { hosts[$0]!.namespace }
        // Recorded before anything exists, so a crash halfway still leaves the list for cleanup.
        try (namespaces.joined(separator: "\n") + "\n").write(toFile: "\(directory)/namespaces", atomically: true, encoding: .utf8)

        func run(_ args: [String]) throws { try Self.run(ip, args) }
        do {
            try run(["netns", "add", bridgeNamespace])
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw Failure.unavailable("\(error)")
        }
        do {
            try run(["-n", bridgeNamespace, "link", "add", "br0", "type", "bridge"])
            try run(["-n", bridgeNamespace, "link", "set", "br0", "up"])
            for (i, name) in names.enumerated() {
                let host = hosts[name]!
                try run(["netns", "add", host.namespace])
                try run(["-n", host.namespace, "link", "set", "lo", "up"])
                // Interface names hold 15 characters at most.
                let (inside, outside) = ("rf\(id)h\(i)", "rf\(id)b\(i)")
                try run(["link", "add", inside, "netns", host.namespace, "type", "veth", "peer", "name", outside, "netns", bridgeNamespace])
                try run(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", inside])
                try run(["-n", host.namespace, "link", "set", inside, "up"])
                try run(["-n", bridgeNamespace, "link", "set", outside, "master", "br0", "up"])
            }
            // The client side: one veth end stays in this machine's namespace; deleting the bridge's
            // namespace deletes the pair.
            let (client, outside) = ("rf\(id)c", "rf\(id)bc")
            try run(["link", "add", client, "type", "veth", "peer", "name", outside, "netns", bridgeNamespace])
            try run(["addr", "add", "\(clientAddress)/24", "dev", client])
            try run(["link", "set", client, "up"])
            try run(["-n", bridgeNamespace, "link", "set", outside, "master", "br0", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// `ip netns exec <namespace>`: what starts a process on `host` (it execs, so the pid is the process's own).
    public func launcher(on host: String) throws -> [String] {
        [try Self.ipTool(), "netns", "exec", hosts[host]!.namespace]
    }

    /// Writes what `scripts/services.sh stop` needs to stop a broker and store started on `host`
    /// with `environment`, should the test not get to stop them itself.
    public func recordBroker(on host: String, environment: [String: String]) throws {
        try hosts[host]!.namespace.write(toFile: "\(directory)/broker-namespace", atomically: true, encoding: .utf8)
        let lines = environment.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n")
        try lines.write(toFile: "\(directory)/broker.env", atomically: true, encoding: .utf8)
    }

    /// Deletes every namespace (their veths go with them) and the record. Safe to call twice.
    public func remove() {
        lock.lock()
        defer { lock.unlock() }
        guard !removed else { return }
        removed = true
        if let ip = try? Self.ipTool() {
            for ns in namespaces { _ = try? Self.run(ip, ["netns", "del", ns]) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }

    static func ipTool() throws -> String {
        for path in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        throw Failure.unavailable("no `ip` tool (Debian's iproute2)")
    }

    /// `10.a.b` such that no address or route here is in 10.a.b.0/24.
    static func unusedSubnet(_ ip: String) throws -> String {
        let used = (try run(ip, ["-4", "route", "show", "table", "all"])) + (try run(ip, ["-4", "addr"]))
        for _ in 0..<100 {
            let subnet = "10.\(Int.random(in: 100...250)).\(Int.random(in: 1...250))"
            if !used.contains("\(subnet).") && !used.contains("10.0.0.0/8") { return subnet }
        }
        throw Failure.unavailable("no free 10.x.y.0/24 subnet")
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure.command("\(tool) \(args.joined(separator: " ")) exited \(p.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
