/// Runs statements on one backend. ``SQLStore`` holds the store's logic; an executor only knows
/// how to reach its database, run a transaction and map its errors to ``StoreError``.
protocol SQLExecutor: Sendable {
    /// Runs `statements` in one transaction and returns, for each, the number of rows it returned
    /// (statements that report affected rows use `RETURNING`). Either all apply or none.
    /// `exclusive` names tables no other writer may touch until the transaction ends (for
    /// delete-and-reinsert replacements); backends whose write transactions are already serial
    /// may ignore it.
    func write(_ operation: String, exclusive: [String], _ statements: [SQLStatement]) async throws -> [Int]
    /// Runs one query and decodes its rows.
    func read<Row: Sendable>(_ operation: String, _ query: SQLQuery<Row>) async throws -> [Row]
    /// Applies the migrations not yet recorded in `schema_migrations`, guarded against other
    /// processes migrating the same database at the same time.
    func migrate(_ migrations: [Migration]) async throws
    /// Highest version recorded in `schema_migrations`, 0 before the first migration.
    func schemaVersion() async throws -> Int
    func close() async throws
    /// Appended to a `SELECT` that picks rows to claim: PostgreSQL locks them and skips rows another
    /// transaction holds (`FOR UPDATE SKIP LOCKED`); SQLite needs nothing, its write transactions being serial.
    var claimLockClause: String { get }
}
