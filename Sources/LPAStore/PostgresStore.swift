import Logging

/// The shared store: PostgreSQL through a pooled postgres-nio client. Several cores may use the
/// same database at once; they coordinate only through it (transactions, table locks for
/// whole-set replacements, an advisory lock around migrations).
///
/// The store owns the client's background task: it starts on init and ends on ``close()``.
/// Call ``migrate()`` before anything else.
public final class PostgresStore: SQLStore, @unchecked Sendable {
    public let configuration: Configuration

    public init(configuration: Configuration, logger: Logger = Logger(label: "lpa.store.postgres")) {
        self.configuration = configuration
        super.init(executor: PostgresExecutor(configuration: configuration, logger: logger), migrations: Migrations.postgres)
    }

    /// Connects to `url` (see ``Configuration/init(url:)``).
    public convenience init(url: String, logger: Logger = Logger(label: "lpa.store.postgres")) throws {
        self.init(configuration: try Configuration(url: url), logger: logger)
    }
}
