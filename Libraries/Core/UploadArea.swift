/// Where the HTTP API stores uploads: `uploads/<tenant>/<name>` under the media root. The path it
/// answers with is what a job names as `source`, resolved like any other; only the uploading
/// tenant's jobs may read or write under its folder (jobs submitted over AMQP have no tenant and
/// are the operator's: they may name any file).
public enum UploadArea {
    public static let directory = "uploads"

    /// The media-root-relative path of `name` (already checked with `MediaPath.validate`) uploaded by `tenant`.
    public static func path(tenant: String, name: String) -> String { "\(directory)/\(tenant)/\(name)" }

    /// Whether a job of `tenant` must not name `path` (relative, as in a job spec): the upload folder
    /// itself, or anything in another tenant's folder. Compared by component: `MediaPath.validate` has
    /// already refused `..`, `.` and empty components, so the second component is the folder it lands in.
    public static func isForeign(_ path: String, tenant: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.first == Substring(directory) else { return false }
        return parts.count < 2 || parts[1] != Substring(tenant)
    }

    /// Whether a tenant name can be a folder name: 1–100 ASCII letters, digits, `.`, `_`, `-`; not `.` or `..`.
    public static func isUsableTenant(_ tenant: String) -> Bool {
        let allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
        return (1...100).contains(tenant.count) && tenant != "." && tenant != ".." && tenant.allSatisfy(allowed.contains)
    }
}
