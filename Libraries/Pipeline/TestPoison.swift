import Core
import Foundation
import Logging

/// A test-only fault: with `REFRAME_TEST_POISON=<stage>:<chunk>`, a worker that takes that chunk at
/// that stage kills its own process (SIGKILL, as a crash or the OOM killer would) — but only while
/// the file `REFRAME_TEST_POISON_WHILE` exists, so a test can "remove the cause" and retry.
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
