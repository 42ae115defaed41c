import XCTest
@testable import LPAStore

final class SQLStatementTests: XCTestCase {
    func testMultiRowInsertsUsePowerOfTwoChunks() {
        let rows = (0..<300).map { [SQLValue.int($0), .text("v\($0)")] }
        let statements = SQLStatement.insert(into: "t", columns: ["a", "b"], rows: rows, suffix: "ON CONFLICT (a) DO NOTHING")
        XCTAssertEqual(statements.map { $0.binds.count / 2 }, [128, 128, 32, 8, 4])
        XCTAssertEqual(statements.flatMap(\.binds), rows.flatMap { $0 })
        XCTAssertTrue(statements[4].sql.hasPrefix("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8)"))
        XCTAssertTrue(statements[4].sql.hasSuffix(" ON CONFLICT (a) DO NOTHING"))
        XCTAssertEqual(SQLStatement.insert(into: "t", columns: ["a"], rows: []).count, 0)
    }

    func testUpsertReplacesEveryNonKeyColumn() {
        XCTAssertEqual(HeartbeatWindowTable.replaceOnConflict(["terminal_id", "window_start"]),
                       "ON CONFLICT (terminal_id, window_start) DO UPDATE SET window_seconds = excluded.window_seconds, heartbeat_count = excluded.heartbeat_count")
    }

    func testMigrationListsAreConsistent() throws {
        try Migrations.validate(Migrations.sqlite)
        try Migrations.validate(Migrations.postgres)
        XCTAssertEqual(Migrations.sqlite.map(\.version), Migrations.postgres.map(\.version))
        XCTAssertThrowsError(try Migrations.validate([Migration(version: 2, statements: [])]))
        XCTAssertEqual(try Migrations.pending(Migrations.sqlite, applied: []).count, Migrations.sqlite.count)
        XCTAssertEqual(try Migrations.pending(Migrations.sqlite, applied: Migrations.sqlite.map(\.version)), [])
        XCTAssertThrowsError(try Migrations.pending(Migrations.sqlite, applied: [Migrations.latestVersion + 1]))
    }
}
