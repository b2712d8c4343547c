import ArgumentParser
import Core
import Foundation
import Messaging

/// `reframe dlq list|show|requeue|purge [--job ID]`: dead-lettered messages with their reasons.
/// RabbitMQ can only read a queue by taking messages off it, so every subcommand takes them all
/// (up to --limit) and puts back, in their order, those it does not requeue or purge.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "List, show, requeue or purge dead-lettered messages.",
        discussion: "Exit codes: 0 ok, 3 no dead letter matched (show, requeue, purge), 64 usage.",
        subcommands: [List.self, Show.self, Requeue.self, Purge.self], defaultSubcommand: List.self)

    struct Selection: ParsableArguments {
        @Option(help: "Only this job's dead letters.") var job: String?
        @Option(help: "Take at most this many off the queue.") var limit = 10_000
        @Flag(help: "JSON lines for scripts.") var json = false
        @OptionGroup var cluster: ClusterOptions
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per dead letter: stage, job, chunk, deliveries, reason.")
        @OptionGroup var selection: Selection
        func run() async throws {
            let shown = try await DeadLetterQueue.visit(selection) { _ in .keep }
            for e in shown { print(selection.json ? e.jsonLine : e.text) }
            if !selection.json { print("\(shown.count) dead letter(s)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every field and the body of the matching dead letters.")
        @OptionGroup var selection: Selection
        func run() async throws {
            let shown = try await DeadLetterQueue.visit(selection) { _ in .keep }
            guard !shown.isEmpty else { throw ExitCode(3) }
            for e in shown { print(selection.json ? e.jsonLine : "\(e.text)\n  queue: \(e.queue)\n  body: \(e.body)") }
        }
    }

    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish the matching dead letters to their queues again, in order.")
        @OptionGroup var selection: Selection
        func run() async throws {
            let moved = try await DeadLetterQueue.visit(selection) { _ in .requeue }
            guard !moved.isEmpty else { throw ExitCode(3) }
            print(selection.json ? moved.map(\.jsonLine).joined(separator: "\n") : "requeued \(moved.count) dead letter(s)")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the matching dead letters.")
        @OptionGroup var selection: Selection
        func run() async throws {
            let gone = try await DeadLetterQueue.visit(selection) { _ in .purge }
            guard !gone.isEmpty else { throw ExitCode(3) }
            print(selection.json ? gone.map(\.jsonLine).joined(separator: "\n") : "purged \(gone.count) dead letter(s)")
        }
    }
}

/// One dead letter as the tool shows it.
struct DeadLetterEntry: Codable {
    var queue: String
    var stage: String?
    var job: String?
    var chunk: Int?
    var segment: Int?
    var reason: String
    /// Deliveries before it was dead-lettered (nil when the broker did not say).
    var deliveries: Int?
    var body: String

    init(_ d: DeadLetter) {
        let message = try? StageMessage.decode(Data(d.body))
        queue = d.sourceQueue
        stage = message?.stage.rawValue
        job = message?.jobId
        chunk = message?.chunk?.index
        segment = message?.segment
        reason = d.reason
        deliveries = d.deliveries
        body = String(decoding: d.body.prefix(2000), as: UTF8.self)
    }

    var text: String {
        let what = chunk.map { "chunk \($0)" } ?? segment.map { "segment \($0)" } ?? "-"
        let tries = deliveries.map { "\($0) deliveries" } ?? "deliveries unknown"
        return "\(stage ?? "?")\t\(job ?? "?")\t\(what)\t\(tries)\t\(reason)"
    }

    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

enum DeadLetterQueue {
    enum Action { case keep, requeue, purge }

    /// Takes the dead letters off, applies `action` to those matching the selection, puts the rest
    /// back in order; returns the matching ones.
    static func visit(_ selection: DeadLetters.Selection, action: (DeadLetterEntry) -> Action) async throws -> [DeadLetterEntry] {
        let bus = try selection.cluster.bus()
        let taken = try await bus.drainDeadLetters(limit: selection.limit)
        var matched: [DeadLetterEntry] = []
        for d in taken {
            let entry = DeadLetterEntry(d)
            let match = selection.job.map { $0.lowercased() == entry.job } ?? true
            switch match ? action(entry) : .keep {
            case .keep:
                try await bus.publish(d.body, to: bus.names.deadLetterQueue, headers: d.headers)
            case .requeue:
                // A stage message goes back to its stage's queue; anything else to the queue it died in.
                let queue = entry.stage.map { bus.names.queue($0) } ?? d.sourceQueue
                try await bus.publish(d.body, to: queue)
            case .purge:
                break
            }
            if match { matched.append(entry) }
        }
        await bus.close()
        return matched
    }
}
