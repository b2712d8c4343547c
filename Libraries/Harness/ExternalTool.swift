import Foundation

/// Runs the reference tools (ffmpeg, ffprobe) that tests and benchmarks check Reframe against.
public enum ExternalTool {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var errors: String
        public var description: String { "\(command) exited \(status): \(errors)" }
    }

    /// Runs `tool` to its end and returns its standard output; throws with its error output when it fails.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> String {
        try runCapturing(tool, arguments).output
    }

    /// Runs `tool` to its end and returns both outputs (a tool may succeed and still complain).
    public static func runCapturing(_ tool: String, _ arguments: [String]) throws -> (output: String, errors: String) {
        let p = Process(), out = Pipe()
        // Errors go to a file: a tool that filled a second pipe while we drained the first would block.
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).err").path
        guard FileManager.default.createFile(atPath: errorsPath, contents: nil), let err = FileHandle(forWritingAtPath: errorsPath) else {
            throw Failure(command: tool, status: -1, errors: "cannot create \(errorsPath)")
        }
        defer { try? err.close(); unlink(errorsPath) }
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errors = FileManager.default.contents(atPath: errorsPath) ?? Data()
        let errorText = String(decoding: errors, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: p.terminationStatus, errors: errorText)
        }
        return (String(decoding: output, as: UTF8.self), errorText)
    }
}
