import Crypto
import Foundation

/// A client's `Idempotency-Key` on `POST /v1/jobs`: the job id is derived from the tenant and the
/// key, so a retried request finds the job the first attempt recorded, and two tenants' keys never
/// meet.
enum IdempotencyKey {
    /// The job id for `key` of `tenant`; throws a 400 problem for a key that is not 1–255
    /// printable ASCII characters without spaces.
    static func jobId(tenant: String, key: String) throws -> String {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw APIProblem(.badRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces")
        }
        var bytes = Array(SHA256.hash(data: Data("reframe-job\u{0}\(tenant)\u{0}\(key)".utf8)).prefix(16))
        // A name-based UUID (RFC 9562 version 8, variant 10), so it passes every UUID check.
        bytes[6] = (bytes[6] & 0x0f) | 0x80
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}
