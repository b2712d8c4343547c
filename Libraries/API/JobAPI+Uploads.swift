import Core
import Foundation
import OpenAPIRuntime

extension JobAPI {
    /// Stores the body under the caller's upload folder; the answer's `name` is a job's `source`.
    func uploadFile(_ input: Operations.UploadFile.Input) async throws -> Operations.UploadFile.Output {
        guard case .binary(let body) = input.body else { throw APIProblem(.unsupportedMediaType, "send the file as application/octet-stream") }
        let tenant = try RequestTenant.required()
        let stored = try await UploadWriter(mediaRoot: context.mediaRoot)
            .store(name: input.path.name, tenant: tenant, overwrite: input.query.overwrite ?? false, body: body)
        // Percent-encoded here: RawHeaderMiddleware undoes only the generated code's own encoding.
        let location = "/v1/uploads/" + (input.path.name.addingPercentEncoding(withAllowedCharacters: Self.nameCharacters) ?? "")
        let upload = Components.Schemas.Upload(name: stored.path, size: Int(stored.size), sha256: stored.sha256)
        if stored.replaced { return .ok(.init(headers: .init(location: location), body: .json(upload))) }
        return .created(.init(headers: .init(location: location), body: .json(upload)))
    }

    /// Unreserved URI characters: everything else in a name (`/` included) is escaped in its URL.
    static let nameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
