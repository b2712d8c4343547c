/// The tenant of the token the current request presented, set by `AuthMiddleware` for the handler.
enum RequestTenant {
    @TaskLocal static var current: String?

    /// The caller's tenant; a route that needs one and runs without `AuthMiddleware` is a bug.
    static func required() throws -> String {
        guard let tenant = current else { throw APIProblem(.unauthorized, "no tenant for this request") }
        return tenant
    }
}
