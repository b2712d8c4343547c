import Core
import Foundation
import HTTPTypes
import OpenAPIRuntime

extension JobAPI {
    /// The output of a finished job, whole or one byte range of it.
    func downloadOutput(_ input: Operations.DownloadOutput.Input) async throws -> Operations.DownloadOutput.Output {
        let record = try await ownedJob(input.path.id)
        guard record.state == .done, let output = record.plan?.output else {
            throw APIProblem(.conflict, "job \(record.id) is \(record.state.rawValue); its output exists once it is done")
        }
        let path = try MediaPath.resolve(output, under: context.mediaRoot, field: "output")
        guard MediaPath.nonRegularKind(path) == nil,
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
            throw APIProblem(.notFound, "the output '\(output)' of job \(record.id) is gone")
        }
        let whole = ByteRange(start: 0, end: size - 1)
        if let header = input.headers.range {
            do {
                let range = try ByteRange.parse(header, size: size)
                return .partialContent(.init(headers: .init(contentRange: "bytes \(range.start)-\(range.end)/\(size)", acceptRanges: "bytes"),
                                             body: .binary(FileBody.body(path: path, range: range))))
            } catch .unsatisfiable {
                throw APIProblem(.rangeNotSatisfiable, "range '\(header)' is outside the \(size)-byte output",
                                 headers: [.contentRange: "bytes */\(size)"])
            } catch .unsupported {}
        }
        return .ok(.init(headers: .init(acceptRanges: "bytes"), body: .binary(FileBody.body(path: path, range: whole))))
    }
}
