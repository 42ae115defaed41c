import Foundation
import NIOConcurrencyHelpers
import XCTest
@testable import LPAStore

/// One database for one test: every store it opens shares that database (the same SQLite file or
/// the same PostgreSQL schema), so tests can play several cores. ``tearDown()`` closes them all and
/// removes the database.
protocol StoreHarness: Sendable {
    var backend: StoreBackend { get }
    /// A new, not yet migrated store on the test's database.
    func openStore() throws -> SQLStore
    func tearDown() async throws
}

enum StoreBackend: Sendable {
    case sqlite
    case postgres

    var migrations: [Migration] {
        switch self {
        case .sqlite: return Migrations.sqlite
        case .postgres: return Migrations.postgres
        }
    }
}

/// Stores opened by a harness, closed at tear-down.
final class OpenedStores: Sendable {
    private let stores = NIOLockedValueBox<[SQLStore]>([])

    func add(_ store: SQLStore) -> SQLStore {
        stores.withLockedValue { $0.append(store) }
        return store
    }

    func closeAll() async throws {
        for store in stores.withLockedValue({ $0 }) { try await store.close() }
    }
}

/// A SQLite file in a fresh temporary directory.
struct SQLiteHarness: StoreHarness {
    let directory: URL
    let stores = OpenedStores()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-store-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var backend: StoreBackend { .sqlite }
    var path: String { directory.appendingPathComponent("store.db").path }

    func openStore() throws -> SQLStore {
        stores.add(try SQLiteStore(path: path))
    }

    func tearDown() async throws {
        try await stores.closeAll()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A uniquely named schema in the database named by `LPA_TEST_POSTGRES_URL`, dropped at tear-down.
struct PostgresHarness: StoreHarness {
    static let environmentKey = "LPA_TEST_POSTGRES_URL"

    let configuration: PostgresStore.Configuration
    let stores = OpenedStores()

    /// Throws `XCTSkip` when the environment names no server.
    init() throws {
        guard let url = ProcessInfo.processInfo.environment[Self.environmentKey], !url.isEmpty else {
            throw XCTSkip("""
                PostgreSQL variant skipped: \(Self.environmentKey) is not set. Set it to a database the tests may create \
                schemas in, e.g. postgres://postgres@127.0.0.1:5432/lpa_test (.ci/run starts a cluster and sets it).
                """)
        }
        var configuration = try PostgresStore.Configuration(url: url)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        configuration.schema = "lpa_test_\(ProcessInfo.processInfo.processIdentifier)_\(suffix)"
        self.configuration = configuration
    }

    var backend: StoreBackend { .postgres }

    func openStore() throws -> SQLStore {
        stores.add(PostgresStore(configuration: configuration))
    }

    func tearDown() async throws {
        try await stores.closeAll()
        let cleaner = PostgresStore(configuration: configuration)
        _ = try? await cleaner.executor.write("tearDown", exclusive: [], [SQLStatement("DROP SCHEMA IF EXISTS \(configuration.schema!) CASCADE")])
        try await cleaner.close()
    }
}

/// Base for the per-backend test classes: runs a behaviour against a fresh harness.
class StoreTestCase: XCTestCase {
    /// Overridden by each backend's test class.
    func makeHarness() throws -> any StoreHarness {
        preconditionFailure("\(Self.self) must override makeHarness()")
    }

    func behaviour(_ body: (StoreBehaviours) async throws -> Void) async throws {
        let harness = try makeHarness()
        do {
            try await body(StoreBehaviours(harness: harness))
        } catch {
            try? await harness.tearDown()
            throw error
        }
        try await harness.tearDown()
    }
}
