import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime

/// The operations the generated code registers, recorded on their way to the router, so a request
/// that matches none can be told what the contract offers at its path.
final class OperationTable<Base: ServerTransport>: ServerTransport {
    let base: Base
    private(set) var routes: [(template: [Substring], method: HTTPRequest.Method)] = []

    init(_ base: Base) { self.base = base }

    func register(_ handler: @Sendable @escaping (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
                  method: HTTPRequest.Method, path: String) throws {
        routes.append((path.split(separator: "/"), method))
        try base.register(handler, method: method, path: path)
    }
}

/// Requests that reach no operation get a problem document too: 405 with `Allow` when the path is
/// the contract's but the method is not, else 404. (The router's own answer is an empty 404 for both.)
/// Added to the router after the operations, so it wraps only the router's not-found responder.
struct UnroutedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(template: [Substring], method: HTTPRequest.Method)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            let segments = path.split(separator: "/")
            let allowed = routes.filter { Self.matches($0.template, segments) }.map(\.method.rawValue)
            let problem = allowed.isEmpty
                ? APIProblem(.notFound, "no operation at \(path)")
                : APIProblem(.methodNotAllowed, "\(request.method.rawValue) is not an operation at \(path); use \(allowed.joined(separator: ", "))",
                             headers: [.allow: allowed.joined(separator: ", ")])
            let (head, document) = problem.document(instance: path)
            return Response(status: head.status, headers: head.headerFields, body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    /// A template segment `{name}` matches any one segment.
    static func matches(_ template: [Substring], _ segments: [Substring]) -> Bool {
        template.count == segments.count && zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}
