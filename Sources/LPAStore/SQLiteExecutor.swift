import CSQLite
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// Runs store statements on one ``SQLiteConnection``, serialised on a single-thread
/// `NIOThreadPool`, so callers (including NIO event loops) await instead of blocking.
///
/// Write transactions start with `BEGIN IMMEDIATE`, taking SQLite's write lock up front, so two
/// processes sharing a file queue on the busy timeout instead of failing to upgrade a read lock.
final class SQLiteExecutor: SQLExecutor, @unchecked Sendable {
    private let threadPool: NIOThreadPool
    /// Taken only on the pool's one thread, so never contended; it makes the confinement explicit.
    private let lock = NIOLock()
    /// Guarded by `lock`; nil once closed.
    private var connection: SQLiteConnection?
    /// Checked by callers before queueing work, without waiting for a running transaction.
    private let isClosed = NIOLockedValueBox(false)
    private let logger: Logger
    let path: String

    init(path: String, logger: Logger) throws {
        do {
            connection = try SQLiteConnection(path: path)
        } catch let error as SQLiteError {
            throw StoreError(.connection, operation: "open", detail: "cannot open SQLite database at \(path): \(error)")
        }
        self.path = path
        self.logger = logger
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
    }

    /// Write transactions are serial (`BEGIN IMMEDIATE`), so a claim's `SELECT` needs no row locks.
    var claimLockClause: String { "" }

    /// `exclusive` needs nothing here: `BEGIN IMMEDIATE` already makes write transactions serial.
    func write(_ operation: String, exclusive: [String], _ statements: [SQLStatement]) async throws -> [Int] {
        try await withConnection(operation) { connection in
            try Self.transaction(connection) {
                try statements.map { try connection.run($0.sql, $0.binds) }
            }
        }
    }

    func read<Row: Sendable>(_ operation: String, _ query: SQLQuery<Row>) async throws -> [Row] {
        try await withConnection(operation) { connection in
            var rows: [Row] = []
            try connection.run(query.statement.sql, query.statement.binds) { row in
                rows.append(try query.decodeRow(row, operation: operation))
            }
            return rows
        }
    }

    func migrate(_ migrations: [Migration]) async throws {
        try Migrations.validate(migrations)
        let logger = self.logger
        let path = self.path
        try await withConnection("migrate", kind: .migration) { connection in
            try Self.transaction(connection) {
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY,
                        applied_at INTEGER NOT NULL
                    ) STRICT
                    """)
                var applied: [Int] = []
                try connection.run("SELECT version FROM schema_migrations", []) { applied.append(Int(try $0.integer(0))) }
                for migration in try Migrations.pending(migrations, applied: applied) {
                    for statement in migration.statements { try connection.execute(statement) }
                    try connection.run("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, unixepoch())",
                                       [.int(migration.version)])
                    logger.info("store schema migrated", metadata: ["store": "sqlite", "path": "\(path)", "version": "\(migration.version)"])
                }
            }
        }
    }

    func schemaVersion() async throws -> Int {
        try await withConnection("schemaVersion") { connection in
            var exists = false
            try connection.run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", []) { _ in exists = true }
            guard exists else { return 0 }
            var version = 0
            try connection.run("SELECT coalesce(max(version), 0) FROM schema_migrations", []) { version = Int(try $0.integer(0)) }
            return version
        }
    }

    func close() async throws {
        isClosed.withLockedValue { $0 = true }
        _ = try? await threadPool.runIfActive {
            self.lock.withLock {
                self.connection?.close()
                self.connection = nil
            }
        }
        try await threadPool.shutdownGracefully()
    }

    deinit {
        // A store dropped without close(): the connection closes with its owner; stop the thread.
        threadPool.shutdownGracefully { _ in }
    }

    // MARK: Internals

    /// Runs `body` in a transaction: commit on return, roll back on throw.
    private static func transaction<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try connection.execute("COMMIT")
            return result
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` with the connection on the store's thread, mapping SQLite errors to ``StoreError``.
    private func withConnection<T: Sendable>(_ operation: String, kind: StoreError.Kind = .query,
                                             _ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        if isClosed.withLockedValue({ $0 }) { throw Self.closed(operation) }
        do {
            return try await threadPool.runIfActive {
                try self.lock.withLock {
                    guard let connection = self.connection else { throw Self.closed(operation) }
                    return try body(connection)
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as SQLiteError {
            throw StoreError(kind, operation: operation, detail: "\(error)")
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw Self.closed(operation)
        } catch is CancellationError where isClosed.withLockedValue({ $0 }) {
            // Work still queued when close() stopped the thread is cancelled.
            throw Self.closed(operation)
        }
    }

    private static func closed(_ operation: String) -> StoreError {
        StoreError(.connection, operation: operation, detail: "the SQLite store is closed")
    }
}
