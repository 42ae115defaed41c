import LPADomain

// Terminal sessions: one row per terminal, written when a core accepts a registration and when the edge says
// the terminal left. Epochs only grow; every write is conditional on the epoch it read, so two cores
// registering sessions of one terminal at once never both win with the same epoch.
extension SQLStore {
    public func openTerminalSession(terminalID: String, coreID: String, epoch: Int64?, at now: Int64) async throws -> Int64? {
        let input = StoreInput(operation: "openTerminalSession")
        try input.key(terminalID, "terminal id")
        try input.key(coreID, "core id")
        if let epoch {
            guard epoch > 0 else { throw input.invalid("session epoch \(epoch) of terminal \(terminalID) is not positive") }
            let opened = try await write(input, [SQLStatement("""
                INSERT INTO terminal_sessions (terminal_id, core_id, epoch, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (terminal_id) DO UPDATE SET core_id = $2, epoch = $3, updated_at = $4
                WHERE terminal_sessions.epoch <= $3 RETURNING terminal_id
                """, [.text(terminalID), .text(coreID), .integer(epoch), .integer(now)])])
            return opened[0] > 0 ? epoch : nil
        }
        // A new session: one more than the epoch read, written only if nobody moved it meanwhile.
        for _ in 0..<8 {
            let last = try await terminalSession(terminalID: terminalID)?.epoch ?? 0
            let opened = try await write(input, [SQLStatement("""
                INSERT INTO terminal_sessions (terminal_id, core_id, epoch, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (terminal_id) DO UPDATE SET core_id = $2, epoch = $3, updated_at = $4
                WHERE terminal_sessions.epoch = $5 RETURNING terminal_id
                """, [.text(terminalID), .text(coreID), .integer(last + 1), .integer(now), .integer(last)])])
            if opened[0] > 0 { return last + 1 }
        }
        throw StoreError(.conflict, operation: input.operation, detail: "terminal \(terminalID): sessions keep registering concurrently")
    }

    @discardableResult
    public func closeTerminalSession(terminalID: String, coreID: String, epoch: Int64, at now: Int64) async throws -> Bool {
        let input = StoreInput(operation: "closeTerminalSession")
        try input.key(terminalID, "terminal id")
        try input.key(coreID, "core id")
        let closed = try await write(input, [SQLStatement("""
            UPDATE terminal_sessions SET core_id = NULL, updated_at = $4
            WHERE terminal_id = $1 AND core_id = $2 AND epoch = $3 RETURNING terminal_id
            """, [.text(terminalID), .text(coreID), .integer(epoch), .integer(now)])])
        return closed[0] > 0
    }

    public func terminalSession(terminalID: String) async throws -> TerminalSession? {
        let input = StoreInput(operation: "terminalSession")
        try input.key(terminalID, "terminal id")
        return try await executor.read(input.operation, TerminalSessionTable.select("WHERE terminal_id = $1", [.text(terminalID)])).first
    }
}

enum TerminalSessionTable: StoreTable {
    static let name = "terminal_sessions"
    static let columns = ["terminal_id", "core_id", "epoch", "updated_at"]

    static func values(_ session: TerminalSession, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(session.terminalID, "terminal id")
        try input.optionalText(session.coreID, "core id of terminal \(session.terminalID)")
        return [.text(session.terminalID), .optionalText(session.coreID), .integer(session.epoch), .integer(session.updatedAt)]
    }

    static func decode(_ row: inout RowReader) throws -> TerminalSession {
        TerminalSession(terminalID: try row.readKey(0, "terminal_id"), coreID: try row.optionalText(1, "core_id"),
                        epoch: try row.integer(2, "epoch"), updatedAt: try row.integer(3, "updated_at"))
    }
}
