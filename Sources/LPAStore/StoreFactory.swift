import Logging

/// Where a store lives, as parsed from the `store` setting of lpa-core.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqliteFile(path: String)
    case sqliteMemory
    case postgres(url: String)

    /// Accepted forms:
    /// - `sqlite:///absolute/path.db`, `sqlite://relative/path.db`, `sqlite:path.db` or a plain path → SQLite file
    /// - `sqlite::memory:` or `:memory:` → private in-memory SQLite database
    /// - `postgres://…` or `postgresql://…` → PostgreSQL (see ``PostgresStore/Configuration/init(url:)``)
    ///
    /// Anything else with a scheme, or an empty string, throws ``StoreError/Kind/invalidInput``.
    public init(_ text: String) throws {
        func invalid(_ detail: String) -> StoreError {
            StoreError(.invalidInput, operation: "open", detail: detail)
        }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            throw invalid("no store given; use a file path, sqlite:///path/to/file.db, sqlite::memory: or postgres://user@host:5432/db")
        }
        let lower = trimmed.lowercased()
        if trimmed == ":memory:" || lower == "sqlite::memory:" || lower == "sqlite://:memory:" {
            self = .sqliteMemory
        } else if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            self = .postgres(url: trimmed)
        } else if lower.hasPrefix("sqlite://") {
            let path = String(trimmed.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw invalid("'\(trimmed)' names no file; use sqlite:///path/to/file.db") }
            self = .sqliteFile(path: path)
        } else if lower.hasPrefix("sqlite:") {
            let path = String(trimmed.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw invalid("'\(trimmed)' names no file; use sqlite:///path/to/file.db") }
            self = .sqliteFile(path: path)
        } else if let scheme = Self.scheme(of: trimmed) {
            throw invalid("unsupported store scheme '\(scheme):' in '\(PostgresStore.Configuration.redacted(trimmed))'; use a file path, sqlite:///path/to/file.db, sqlite::memory: or postgres://user@host:5432/db")
        } else {
            self = .sqliteFile(path: trimmed)
        }
    }

    public var description: String {
        switch self {
        case .sqliteFile(let path): return "sqlite://\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let url): return PostgresStore.Configuration.redacted(url)
        }
    }

    /// The URL scheme of `text` (`word:` with a letter first, then letters, digits, `+`, `-`, `.`),
    /// or nil for a path.
    private static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        let candidate = text[..<colon]
        guard let first = candidate.first, first.isASCII, first.isLetter,
              candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        return String(candidate)
    }
}

/// Opens the store a location names. The store is not migrated yet: call ``Store/migrate()``.
public enum StoreFactory {
    public static func open(url: String, logger: Logger = Logger(label: "lpa.store")) throws -> any Store {
        try open(StoreLocation(url), logger: logger)
    }

    public static func open(_ location: StoreLocation, logger: Logger = Logger(label: "lpa.store")) throws -> any Store {
        switch location {
        case .sqliteFile(let path): return try SQLiteStore(path: path, logger: logger)
        case .sqliteMemory: return try SQLiteStore.inMemory(logger: logger)
        case .postgres(let url): return try PostgresStore(url: url, logger: logger)
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
