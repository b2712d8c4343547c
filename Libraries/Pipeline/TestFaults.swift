import Core
import Foundation
import Logging

// Test-only faults, armed by environment variables. Unset, each costs one check of a constant.

/// With `REFRAME_TEST_POISON=<stage>:<chunk>`, a worker that takes that chunk at that stage kills its
/// own process (SIGKILL, as a crash or the OOM killer would) — but only while the file
/// `REFRAME_TEST_POISON_WHILE` exists, so a test can "remove the cause" and retry.
enum TestPoison {
    static let target: (stage: Stage, chunk: Int, whileFile: String?)? = {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env["REFRAME_TEST_POISON"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let stage = Stage(rawValue: String(parts[0])), let chunk = Int(parts[1]) else { return nil }
        return (stage, chunk, env["REFRAME_TEST_POISON_WHILE"])
    }()

    static func strike(_ message: StageMessage?, logger: Logger) {
        guard let target, let message, message.stage == target.stage, message.chunk?.index == target.chunk else { return }
        if let file = target.whileFile, !FileManager.default.fileExists(atPath: file) { return }
        logger.critical("REFRAME_TEST_POISON: killing this process", metadata: ["chunk": "\(target.chunk)"])
        kill(getpid(), SIGKILL)
    }
}

/// A crash between two steps of DESIGN.md §6, once. With `REFRAME_TEST_CRASH_FILE=<path>`, a worker
/// at a crash point looks for that file; if it reads `<stage>:<point>` for this stage and point, the
/// worker claims it by renaming it to `<path>.claimed` (an atomic rename: of racing workers exactly
/// one wins, and the fault cannot strike twice) and SIGKILLs its process.
public enum CrashPoint: String, CaseIterable, Sendable {
    /// Output stored, not yet marked done.
    case afterStore = "after-store"
    /// Marked done, nothing published.
    case afterMark = "after-mark"
    /// The first of the next messages published (finalize publishes none: right before the ack).
    case afterPublish = "after-publish"
    /// Everything published, not acked.
    case beforeAck = "before-ack"
    /// The ack never reaches the broker, but the input is deleted as if it had: the broker
    /// redelivers a message whose input is gone.
    case lostAck = "lost-ack"

    public static let fileVariable = "REFRAME_TEST_CRASH_FILE"
    static let file = ProcessInfo.processInfo.environment[fileVariable]

    /// Crashes here if the armed fault is this stage and point.
    static func strike(_ point: CrashPoint, _ stage: Stage, logger: Logger) {
        if claim(point, stage) { crash(point, stage, logger: logger) }
    }

    /// Whether the armed fault is this stage and point; if so it is taken (the caller must crash).
    static func claim(_ point: CrashPoint, _ stage: Stage) -> Bool {
        guard let file, FileManager.default.fileExists(atPath: file),
              let armed = try? String(contentsOfFile: file, encoding: .utf8),
              armed.trimmingCharacters(in: .whitespacesAndNewlines) == "\(stage.rawValue):\(point.rawValue)" else { return false }
        return rename(file, file + ".claimed") == 0
    }

    static func crash(_ point: CrashPoint, _ stage: Stage, logger: Logger) -> Never {
        logger.critical("\(fileVariable): killing this process", metadata: ["stage": "\(stage.rawValue)", "point": "\(point.rawValue)"])
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not end the process")
    }
}

/// With `REFRAME_TEST_FRAME_SECONDS=<s>`, the upscaler takes that much longer per frame, as a model on
/// a slow CPU would, so a test sees a chunk's frames finish one by one (live progress).
enum TestSlowFrames {
    static let seconds: Double? = ProcessInfo.processInfo.environment["REFRAME_TEST_FRAME_SECONDS"].flatMap(Double.init)

    /// Called on a blocking thread (inside BlockingWork), never on the cooperative pool.
    static func pause() {
        guard let seconds, seconds > 0 else { return }
        Thread.sleep(forTimeInterval: seconds)
    }
}
