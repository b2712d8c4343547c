import Core
import XCTest

/// The upload area's layout and who may name what in it (the HTTP API refuses the rest with 403).
final class UploadAreaTests: XCTestCase {
    func testATenantsJobsMayNameOnlyItsOwnUploads() {
        XCTAssertEqual(UploadArea.path(tenant: "studio-a", name: "tapes/0412.mpg"), "uploads/studio-a/tapes/0412.mpg")
        XCTAssertFalse(UploadArea.isForeign("uploads/studio-a/tapes/0412.mpg", tenant: "studio-a"))
        XCTAssertFalse(UploadArea.isForeign("archive/uploads/studio-b/x.mp4", tenant: "studio-a"), "only the top-level folder is the upload area")
        XCTAssertFalse(UploadArea.isForeign("uploads-old/x.mp4", tenant: "studio-a"))
        XCTAssertTrue(UploadArea.isForeign("uploads/studio-b/x.mp4", tenant: "studio-a"))
        XCTAssertTrue(UploadArea.isForeign("uploads/studio-a-2/x.mp4", tenant: "studio-a"), "a tenant named like a prefix is another tenant")
        XCTAssertTrue(UploadArea.isForeign("uploads", tenant: "studio-a"), "the area itself is no file to read or write")
        XCTAssertTrue(UploadArea.isForeign("uploads/x.mp4", tenant: "studio-a"), "a file beside the tenant folders belongs to no one")
    }

    func testTenantNamesMustBeFolderNames() {
        for good in ["studio-a", "A.B_c-9", String(repeating: "t", count: 100)] { XCTAssertTrue(UploadArea.isUsableTenant(good), good) }
        for bad in ["", ".", "..", "a/b", "a b", "ä", "a\\b", String(repeating: "t", count: 101)] {
            XCTAssertFalse(UploadArea.isUsableTenant(bad), bad)
        }
    }
}
