import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Runs store statements through a pooled `PostgresClient`. The client's `run()` executes in a task
/// this executor owns; ``close()`` cancels it and waits for it to end.
///
/// Write transactions that fail with a serialization failure or deadlock (SQLSTATE 40001, 40P01)
/// are retried from the start, up to ``maximumAttempts`` times.
final class PostgresExecutor: SQLExecutor {
    /// Key of the transaction-level advisory lock held while migrating ("LPAMIGR" in ASCII).
    static let migrationLockKey: Int64 = 0x4C50_414D_4947_52
    static let maximumAttempts = 3

    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    /// Ends once `runTask` has begun, so no connection is leased before the client runs.
    private let started: Task<Void, Never>
    private let logger: Logger
    private let schema: String?
    private let target: String
    private let isClosed = NIOLockedValueBox(false)

    init(configuration: PostgresStore.Configuration, logger: Logger) {
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.schema = configuration.schema
        self.target = configuration.description
        let (signal, startedContinuation) = AsyncStream<Void>.makeStream()
        self.runTask = Task {
            startedContinuation.finish()
            await client.run()
        }
        self.started = Task { for await _ in signal {} }
    }

    deinit {
        runTask.cancel()
    }

    /// Concurrent claims from several cores take disjoint rows instead of waiting for each other.
    var claimLockClause: String { "FOR UPDATE SKIP LOCKED" }

    func write(_ operation: String, exclusive: [String], _ statements: [SQLStatement]) async throws -> [Int] {
        try await mappingErrors(operation) { () async throws -> [Int] in
            var attempt = 1
            while true {
                do {
                    if statements.count == 1 && exclusive.isEmpty {
                        // One statement is atomic on its own: skip BEGIN/COMMIT and their round trips.
                        return try await self.client.withConnection { connection in [try await self.execute(statements[0], on: connection)] }
                    }
                    return try await self.withTransaction { connection in
                        for table in exclusive {
                            try await self.execute(SQLStatement("LOCK TABLE \(table) IN SHARE ROW EXCLUSIVE MODE"), on: connection)
                        }
                        var counts: [Int] = []
                        for statement in statements {
                            counts.append(try await self.execute(statement, on: connection))
                        }
                        return counts
                    }
                } catch let error as PSQLError where attempt < Self.maximumAttempts && PostgresErrorMapping.isTransient(error) {
                    self.logger.debug("retrying store transaction",
                                      metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
                    attempt += 1
                }
            }
        }
    }

    func read<Row: Sendable>(_ operation: String, _ query: SQLQuery<Row>) async throws -> [Row] {
        let rows = try await mappingErrors(operation) {
            try await self.client.withConnection { connection in try await self.fetch(query.statement, on: connection) }
        }
        return try rows.map { try query.decodeRow(PostgresStoreRow(row: $0.makeRandomAccess()), operation: operation) }
    }

    func migrate(_ migrations: [Migration]) async throws {
        try Migrations.validate(migrations)
        if let schema, !PostgresStore.Configuration.isPlainIdentifier(schema) {
            throw StoreError(.invalidInput, operation: "migrate",
                             detail: "schema '\(schema)' must be letters, digits and '_' (not starting with a digit), at most 63 characters")
        }
        try await mappingErrors("migrate", kind: .migration) { try await self.withTransaction { connection in
            try await self.execute(SQLStatement("SELECT pg_advisory_xact_lock($1)", [.integer(Self.migrationLockKey)]), on: connection)
            if let schema = self.schema,
               try await self.execute(SQLStatement("SELECT 1 FROM pg_namespace WHERE nspname = $1", [.text(schema)]), on: connection) == 0 {
                try await self.execute(SQLStatement("CREATE SCHEMA \(schema)"), on: connection)
            }
            try await self.execute(SQLStatement("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """), on: connection)
            let applied = try await self.fetch(SQLStatement("SELECT version FROM schema_migrations"), on: connection)
                .map { Int(try $0.decode(Int64.self)) }
            for migration in try Migrations.pending(migrations, applied: applied) {
                for statement in migration.statements {
                    try await self.execute(SQLStatement(statement), on: connection)
                }
                try await self.execute(SQLStatement("INSERT INTO schema_migrations (version) VALUES ($1)", [.int(migration.version)]), on: connection)
                self.logger.info("store schema migrated", metadata: ["store": "postgres", "target": "\(self.target)", "version": "\(migration.version)"])
            }
        } }
    }

    func schemaVersion() async throws -> Int {
        try await mappingErrors("schemaVersion") { try await self.client.withConnection { connection in
            let exists = try await self.execute(SQLStatement("SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL"), on: connection)
            guard exists > 0 else { return 0 }
            let rows = try await self.fetch(SQLStatement("SELECT coalesce(max(version), 0) FROM schema_migrations"), on: connection)
            return Int(try rows.first?.decode(Int64.self) ?? 0)
        } }
    }

    func close() async throws {
        let wasClosed = isClosed.withLockedValue { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        runTask.cancel()
        await runTask.value
    }

    // MARK: Internals

    /// Leases a connection and runs `body` in `BEGIN` … `COMMIT`, rolling back on error. A
    /// connection whose rollback fails is closed rather than returned to the pool mid-transaction.
    private func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await self.execute(SQLStatement("BEGIN"), on: connection)
            do {
                let result = try await body(connection)
                try await self.execute(SQLStatement("COMMIT"), on: connection)
                return result
            } catch {
                do {
                    try await self.execute(SQLStatement("ROLLBACK"), on: connection)
                } catch {
                    try? await connection.close()
                }
                throw error
            }
        }
    }

    /// Runs `body` unless the store is closed, turning postgres-nio errors into ``StoreError``.
    private func mappingErrors<T>(_ operation: String, kind: StoreError.Kind = .query,
                                  _ body: () async throws -> T) async throws -> T {
        if isClosed.withLockedValue({ $0 }) {
            throw StoreError(.connection, operation: operation, detail: "the PostgreSQL store is closed")
        }
        await started.value
        do {
            return try await body()
        } catch let error as StoreError {
            throw error
        } catch {
            throw PostgresErrorMapping.storeError(error, operation: operation, kind: kind, target: target)
        }
    }

    /// Runs a statement and returns how many rows it produced.
    @discardableResult
    private func execute(_ statement: SQLStatement, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query(try Self.query(statement), logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// Runs a statement and collects its rows (all of them, before any is decoded, so a corrupt
    /// row never leaves a half-read result on the connection).
    private func fetch(_ statement: SQLStatement, on connection: PostgresConnection) async throws -> [PostgresRow] {
        let rows = try await connection.query(try Self.query(statement), logger: logger)
        var collected: [PostgresRow] = []
        for try await row in rows { collected.append(row) }
        return collected
    }

    private static func query(_ statement: SQLStatement) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: statement.binds.count)
        for value in statement.binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .bool(let v): bindings.append(v)
            }
        }
        return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
    }
}

/// A PostgreSQL result row read strictly, as ``SQLRow`` requires.
struct PostgresStoreRow: SQLRow {
    let row: PostgresRandomAccessRow

    func integer(_ column: Int) throws -> Int64 { try decode(Int64.self, column) }
    func text(_ column: Int) throws -> String { try decode(String.self, column) }
    func bool(_ column: Int) throws -> Bool { try decode(Bool.self, column) }

    func isNull(_ column: Int) throws -> Bool {
        try cell(column).bytes == nil
    }

    private func cell(_ column: Int) throws -> PostgresCell {
        guard column >= 0 && column < row.count else {
            throw SQLColumnError(column: column, problem: "no such column (row has \(row.count))")
        }
        return row[column]
    }

    private func decode<T: PostgresDecodable>(_ type: T.Type, _ column: Int) throws -> T {
        let cell = try cell(column)
        guard cell.bytes != nil else { throw SQLColumnError(column: column, problem: "expected \(T.self), found NULL") }
        do {
            return try cell.decode(T.self)
        } catch {
            throw SQLColumnError(column: column, problem: "expected \(T.self), found \(cell.dataType)")
        }
    }
}
