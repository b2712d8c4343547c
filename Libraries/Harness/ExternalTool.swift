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
        let ran = try runToEnd(tool, arguments)
        guard ran.status == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: ran.status, errors: ran.errors)
        }
        return (ran.output, ran.errors)
    }

    /// Runs `tool` to its end and returns its exit status and both outputs, whatever the status
    /// (a checker's report is on its standard output when it fails, too).
    /// `environment` is added to this process's own.
    public static func runToEnd(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, output: String, errors: String) {
        let p = Process(), out = Pipe()
        // Errors go to a file: a tool that filled a second pipe while we drained the first would block.
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).err").path
        guard FileManager.default.createFile(atPath: errorsPath, contents: nil), let err = FileHandle(forWritingAtPath: errorsPath) else {
            throw Failure(command: tool, status: -1, errors: "cannot create \(errorsPath)")
        }
        defer { try? err.close(); unlink(errorsPath) }
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errors = FileManager.default.contents(atPath: errorsPath) ?? Data()
        return (p.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}
