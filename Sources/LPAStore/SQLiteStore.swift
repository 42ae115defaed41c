import Logging

/// The embedded store: one SQLite file (or a private in-memory database) on the system
/// libsqlite3, in WAL mode with a busy timeout so several processes may open the same file.
///
/// All statements run on one dedicated thread, one at a time; callers await them. Open, then
/// call ``migrate()`` before anything else; call ``close()`` when done.
public final class SQLiteStore: SQLStore, @unchecked Sendable {
    /// The database file, or `:memory:`.
    public let path: String

    /// Opens (creating when missing) the database at `path`; `:memory:` opens a private in-memory
    /// database that lives until ``close()``.
    public init(path: String, logger: Logger = Logger(label: "lpa.store.sqlite")) throws {
        self.path = path
        super.init(executor: try SQLiteExecutor(path: path, logger: logger), migrations: Migrations.sqlite)
    }

    /// A private in-memory database, for tests and throwaway runs.
    public static func inMemory(logger: Logger = Logger(label: "lpa.store.sqlite")) throws -> SQLiteStore {
        try SQLiteStore(path: SQLiteConnection.memoryPath, logger: logger)
    }

    public var isInMemory: Bool { path == SQLiteConnection.memoryPath }
}
