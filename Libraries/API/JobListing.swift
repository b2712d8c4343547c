import Foundation
import Store

/// One tenant's jobs, newest first, in pages. The cursor names the last job of the previous page
/// (its creation time and id), so a page is stable while newer jobs arrive.
struct JobListing {
    struct Cursor: Equatable {
        var created: Double
        var id: String

        init(created: Double, id: String) {
            self.created = created
            self.id = id
        }

        init?(_ text: String) {
            guard let data = Data(base64Encoded: text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                .padding(toLength: (text.count + 3) / 4 * 4, withPad: "=", startingAt: 0)) else { return nil }
            let parts = String(decoding: data, as: UTF8.self).split(separator: " ")
            guard parts.count == 2, let created = Double(parts[0]), UUID(uuidString: String(parts[1])) != nil else { return nil }
            self.init(created: created, id: String(parts[1]))
        }

        var text: String {
            Data("\(created) \(id)".utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        /// Newest first; ties by id, so the order is total.
        func precedes(_ other: Cursor) -> Bool { created != other.created ? created > other.created : id > other.id }
    }

    let jobs: JobStore

    /// Walks the tenant's index newest first from the cursor, reading records only until the page
    /// (and one more, to know there is a next page) is full: cost follows the page, not all jobs.
    func page(tenant: String, state: JobState?, after cursor: Cursor?, limit: Int) async throws -> (records: [JobRecord], next: Cursor?) {
        var found: [(Cursor, JobRecord)] = []
        let batch = max(limit + 1, 50)
        var offset = 0
        scan: while true {
            let ids = try await jobs.tenantJobs(tenant, atMost: cursor?.created ?? .infinity, offset: offset, count: batch)
            offset += ids.count
            for (id, created) in ids {
                let key = Cursor(created: created, id: id)
                if let cursor, !cursor.precedes(key) { continue }
                guard let record = try await jobs.job(id), record.tenant == tenant, state == nil || record.state == state else { continue }
                found.append((key, record))
                if found.count > limit { break scan }
            }
            if ids.count < batch { break }
        }
        let page = found.prefix(limit)
        return (page.map(\.1), found.count > limit ? page.last?.0 : nil)
    }
}
