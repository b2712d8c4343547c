import Foundation
import HTTPTypes
import OpenAPIRuntime

/// An error a request ends with, rendered as an RFC 9457 problem document by `ProblemMiddleware`.
struct APIProblem: Error, CustomStringConvertible, Sendable {
    var status: HTTPResponse.Status
    var detail: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    var description: String { "\(status.code) \(detail)" }

    static let contentType = "application/problem+json"

    /// The response: `type` is about:blank, so `title` is the status phrase (RFC 9457 §4.2.1).
    func response(instance: String?) -> (HTTPResponse, HTTPBody) {
        let (head, document) = document(instance: instance)
        return (head, HTTPBody(document))
    }

    /// The response head and the document's bytes.
    func document(instance: String?) -> (HTTPResponse, Data) {
        let document = Components.Schemas.Problem(_type: "about:blank", title: status.reasonPhrase, status: status.code,
                                                  detail: detail, instance: instance)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(document)) ?? Data()
        var fields = headers
        fields[.contentType] = Self.contentType
        return (HTTPResponse(status: status, headerFields: fields), body)
    }
}
