import PostgresNIO

/// Turns postgres-nio errors into ``StoreError`` with the server's SQLSTATE and message (PSQLError's
/// own description deliberately hides them).
enum PostgresErrorMapping {
    /// SQLSTATE classes that mean the database could not be reached or refused the session:
    /// connection exception, invalid authorization, invalid catalog (database) name, operator
    /// intervention (shutdown), insufficient resources.
    private static let connectionClasses: Set<String> = ["08", "28", "3D", "57", "53"]

    static func isTransient(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    static func storeError(_ error: any Error, operation: String, kind: StoreError.Kind, target: String) -> StoreError {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let state = info[.sqlState] {
                var detail = "PostgreSQL \(state): \(info[.message] ?? "error")"
                if let extra = info[.detail] { detail += " (\(extra))" }
                if let hint = info[.hint] { detail += "; hint: \(hint)" }
                let isConnection = connectionClasses.contains(String(state.prefix(2)))
                return StoreError(isConnection ? .connection : kind, operation: operation,
                                  detail: isConnection ? "\(target): \(detail)" : detail)
            }
            var detail = "\(target): \(error.code)"
            if let underlying = error.underlying { detail += ": \(underlying)" }
            return StoreError(.connection, operation: operation, detail: detail)
        }
        if error is CancellationError {
            return StoreError(.connection, operation: operation, detail: "cancelled")
        }
        return StoreError(.connection, operation: operation, detail: "\(target): \(error)")
    }
}
