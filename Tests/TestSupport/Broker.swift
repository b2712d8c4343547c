import Foundation

/// What the test command's private RabbitMQ node sees, from `scripts/services.sh ctl` (rabbitmqctl
/// with that node's name and environment): the broker's side of a fault, not the services' word.
public enum Broker {
    /// Rows of a rabbitmqctl listing (`list_connections peer_port`, …), columns split at tabs.
    public static func rows(_ arguments: [String]) throws -> [[String]] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/services.sh").path
        let output = try MediaChecks.run(script, ["ctl"] + arguments + ["--silent"])
        return output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The client ports of the AMQP connections the broker holds open.
    public static func connectionPorts() throws -> Set<Int> {
        Set(try rows(["list_connections", "peer_port"]).compactMap { $0.first.flatMap { Int($0) } })
    }

    /// Messages delivered and not yet acked, by queue.
    public static func unacked() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try rows(["list_queues", "name", "messages_unacknowledged"]) where row.count == 2 {
            out[row[0]] = Int(row[1]) ?? 0
        }
        return out
    }
}
