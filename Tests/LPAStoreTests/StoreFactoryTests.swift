import XCTest
@testable import LPAStore

final class StoreFactoryTests: XCTestCase {
    func testLocationsAreParsed() throws {
        XCTAssertEqual(try StoreLocation("sqlite:///var/lib/lpa/core.db"), .sqliteFile(path: "/var/lib/lpa/core.db"))
        XCTAssertEqual(try StoreLocation("sqlite://data/core.db"), .sqliteFile(path: "data/core.db"))
        XCTAssertEqual(try StoreLocation("sqlite:core.db"), .sqliteFile(path: "core.db"))
        XCTAssertEqual(try StoreLocation("/tmp/core.db"), .sqliteFile(path: "/tmp/core.db"))
        XCTAssertEqual(try StoreLocation("  ./core.db "), .sqliteFile(path: "./core.db"))
        XCTAssertEqual(try StoreLocation("sqlite::memory:"), .sqliteMemory)
        XCTAssertEqual(try StoreLocation(":memory:"), .sqliteMemory)
        XCTAssertEqual(try StoreLocation("postgres://lpa:pw@db:5432/lpa"), .postgres(url: "postgres://lpa:pw@db:5432/lpa"))
        XCTAssertEqual(try StoreLocation("postgresql://lpa@db/lpa"), .postgres(url: "postgresql://lpa@db/lpa"))
    }

    func testUnknownLocationsAreRefusedClearly() {
        for text in ["", "   ", "mysql://root@db/lpa", "redis:6379", "sqlite://", "sqlite:"] {
            XCTAssertThrowsError(try StoreLocation(text), text) { error in
                XCTAssertEqual((error as? StoreError)?.kind, .invalidInput, "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try StoreLocation("mysql://root:secret@db/lpa")) { error in
            XCTAssertTrue("\(error)".contains("mysql"), "\(error)")
            XCTAssertFalse("\(error)".contains("secret"), "the password must not appear: \(error)")
        }
    }

    func testFactoryOpensSQLite() async throws {
        let memory = try StoreFactory.open(url: "sqlite::memory:")
        XCTAssertTrue((memory as? SQLiteStore)?.isInMemory ?? false)
        try await memory.migrate()
        let version = try await memory.schemaVersion()
        XCTAssertEqual(version, Migrations.latestVersion)
        try await memory.close()

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-factory-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let file = try StoreFactory.open(url: "sqlite://\(path)")
        XCTAssertEqual((file as? SQLiteStore)?.path, path)
        try await file.close()
    }

    func testFactoryMakesPostgresStoresWithoutConnecting() async throws {
        let store = try StoreFactory.open(url: "postgres://lpa:pw@127.0.0.1:1/lpa?schema=core")
        let postgres = try XCTUnwrap(store as? PostgresStore)
        XCTAssertEqual(postgres.configuration.schema, "core")
        try await store.close()
    }

    func testPostgresURLsAreParsed() throws {
        let full = try PostgresStore.Configuration(
            url: "postgresql://lpa%40core:p%2Fw@db.example.net:6543/fleet?schema=lpa_core&sslmode=disable&application_name=core-2&max_connections=8")
        XCTAssertEqual(full.username, "lpa@core")
        XCTAssertEqual(full.password, "p/w")
        XCTAssertEqual(full.host, "db.example.net")
        XCTAssertEqual(full.port, 6543)
        XCTAssertEqual(full.database, "fleet")
        XCTAssertEqual(full.schema, "lpa_core")
        XCTAssertEqual(full.applicationName, "core-2")
        XCTAssertEqual(full.maximumConnections, 8)
        XCTAssertFalse(full.description.contains("p/w"))

        let minimal = try PostgresStore.Configuration(url: "postgres://lpa@localhost")
        XCTAssertEqual(minimal.port, 5432)
        XCTAssertNil(minimal.database)
        XCTAssertNil(minimal.password)
        XCTAssertNil(minimal.schema)

        let socket = try PostgresStore.Configuration(url: "postgres://lpa@/lpa?host=/var/run/postgresql")
        XCTAssertEqual(socket.unixSocketDirectory, "/var/run/postgresql")
        XCTAssertEqual(socket.clientConfiguration.unixSocketPath, "/var/run/postgresql/.s.PGSQL.5432")
    }

    func testBadPostgresURLsAreRefused() {
        let bad = [
            "postgres://db.example.net/lpa",  // no user
            "postgres://lpa@db/lpa?schema=drop%20table",
            "postgres://lpa@db/lpa?schema=1abc",
            "postgres://lpa:secret@db/lpa?sslmode=require",
            "postgres://lpa@db/lpa?sslmod=disable",
            "postgres://lpa@db/lpa?max_connections=0",
            "postgres://lpa@db/lpa?host=relative",
            "http://lpa@db/lpa",
        ]
        for url in bad {
            XCTAssertThrowsError(try PostgresStore.Configuration(url: url), url) { error in
                XCTAssertEqual((error as? StoreError)?.kind, .invalidInput, "\(url): \(error)")
                XCTAssertFalse("\(error)".contains("secret"), "the password must not appear: \(error)")
            }
        }
    }
}
