import LPADomain

// Campaigns and their targets, written once for both backends. Claims are one `UPDATE` whose row
// choice is a `SELECT … LIMIT n` with the executor's ``SQLExecutor/claimLockClause``: on PostgreSQL
// concurrent cores skip each other's locked rows, on SQLite write transactions are serial anyway.
extension SQLStore {
    public func createCampaign(_ campaign: Campaign, targets: [CampaignTarget]) async throws {
        let input = StoreInput(operation: "createCampaign")
        try Self.checkTargets(targets, of: campaign.id, input)
        // Checked first so a taken id never gets targets added; two creations racing on one new id are
        // settled by the primary key (the loser's campaign row is refused).
        if try await self.campaign(id: campaign.id) != nil { throw input.invalid("campaign id '\(campaign.id)' is already used") }
        let statements = try CampaignTable.insert([campaign], input, suffix: "ON CONFLICT DO NOTHING RETURNING id")
            + CampaignTargetTable.insert(targets.sorted { $0.terminalID < $1.terminalID }, input, suffix: "ON CONFLICT DO NOTHING")
        let counts = try await write(input, statements)
        if counts[0] == 0 { throw input.invalid("campaign id '\(campaign.id)' is already used") }
    }

    public func updateCampaign(_ campaign: Campaign, from: [Campaign.State], addingTargets targets: [CampaignTarget]) async throws -> Bool {
        let input = StoreInput(operation: "updateCampaign")
        guard !from.isEmpty else { throw input.invalid("no state to move from") }
        try Self.checkTargets(targets, of: campaign.id, input)
        let values = try CampaignTable.values(campaign, input)
        let assignments = CampaignTable.columns.enumerated().dropFirst().filter { $0.element != "created_at" }
            .map { "\($0.element) = $\($0.offset + 1)" }
        let placeholders = from.indices.map { "$\(values.count + 1 + $0)" }.joined(separator: ", ")
        var statements = [SQLStatement(
            "UPDATE campaigns SET \(assignments.joined(separator: ", ")) WHERE id = $1 AND state IN (\(placeholders)) RETURNING id",
            values + from.map { .text($0.rawValue) })]
        if !targets.isEmpty {
            // Callers add targets only when starting a draft, after reading it as draft; already stored targets are kept.
            let rows = try targets.sorted { $0.terminalID < $1.terminalID }.map { try CampaignTargetTable.values($0, input) }
            statements += SQLStatement.insert(into: CampaignTargetTable.name, columns: CampaignTargetTable.columns, rows: rows,
                                              suffix: "ON CONFLICT DO NOTHING")
        }
        let counts = try await write(input, statements)
        return counts[0] > 0
    }

    public func cancelCampaign(id: String, at: Int64) async throws -> Bool {
        let input = StoreInput(operation: "cancelCampaign")
        try input.key(id, "campaign id")
        let counts = try await write(input, [
            SQLStatement("""
                UPDATE campaigns SET state = 'canceled', pause_reason = NULL, updated_at = $2, finished_at = $2
                WHERE id = $1 AND state IN ('draft', 'running', 'paused') RETURNING id
                """, [.text(id), .integer(at)]),
            SQLStatement("""
                UPDATE campaign_targets SET state = 'skipped', claimed_by = NULL, claim_expires_at = NULL,
                    last_error = 'campaign canceled before this device started', updated_at = $2
                WHERE campaign_id = $1 AND state IN ('pending', 'claimed')
                  AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $1 AND c.state = 'canceled' AND c.updated_at = $2)
                """, [.text(id), .integer(at)]),
        ])
        return counts[0] > 0
    }

    public func campaign(id: String) async throws -> Campaign? {
        let input = StoreInput(operation: "campaign")
        try input.key(id, "campaign id")
        return try await executor.read(input.operation, CampaignTable.select("WHERE id = $1", [.text(id)])).first
    }

    public func campaigns(states: [Campaign.State]?) async throws -> [Campaign] {
        guard let states else { return try await executor.read("campaigns", CampaignTable.select("ORDER BY created_at DESC, id DESC")) }
        guard !states.isEmpty else { return [] }
        let placeholders = states.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
        return try await executor.read("campaigns", CampaignTable.select(
            "WHERE state IN (\(placeholders)) ORDER BY created_at DESC, id DESC", states.map { .text($0.rawValue) }))
    }

    public func campaignProgress(id: String) async throws -> CampaignProgress {
        let input = StoreInput(operation: "campaignProgress")
        try input.key(id, "campaign id")
        let rows = try await executor.read(input.operation, SQLQuery(table: CampaignTargetTable.name,
            "SELECT phase, state, count(*) FROM campaign_targets WHERE campaign_id = $1 GROUP BY phase, state", [.text(id)]) {
            (try $0.enumeration(CampaignTarget.Phase.self, 0, "phase"), try $0.enumeration(CampaignTarget.State.self, 1, "state"),
             try $0.int(2, "count"))
        })
        var progress = CampaignProgress()
        for (phase, state, count) in rows { progress.counts[phase, default: [:]][state] = count }
        return progress
    }

    public func campaignTargets(campaignID: String, state: CampaignTarget.State?, after: String?, limit: Int) async throws -> [CampaignTarget] {
        let input = StoreInput(operation: "campaignTargets")
        try input.key(campaignID, "campaign id")
        try input.nonNegative(limit, "limit")
        var conditions = ["campaign_id = $1"]
        var binds: [SQLValue] = [.text(campaignID)]
        if let state {
            binds.append(.text(state.rawValue))
            conditions.append("state = $\(binds.count)")
        }
        if let after {
            try input.key(after, "cursor")
            binds.append(.text(after))
            conditions.append("terminal_id > $\(binds.count)")
        }
        binds.append(.int(limit))
        return try await executor.read(input.operation, CampaignTargetTable.select(
            "WHERE \(conditions.joined(separator: " AND ")) ORDER BY terminal_id LIMIT $\(binds.count)", binds))
    }

    public func claimCampaignTargets(campaignID: String, coreID: String, now: Int64, until: Int64, limit: Int,
                                     phase: CampaignTarget.Phase?, takeOver: Bool) async throws -> Int {
        let input = StoreInput(operation: "claimCampaignTargets")
        try input.key(campaignID, "campaign id")
        try input.key(coreID, "core id")
        try input.nonNegative(limit, "limit")
        guard limit > 0 else { return 0 }
        var binds: [SQLValue] = [.text(campaignID), .text(coreID), .integer(until), .integer(now), .int(limit)]
        var condition = takeOver
            ? "state IN ('claimed', 'running') AND claim_expires_at < $4"
            : "state = 'pending' AND next_attempt_at <= $4"
        // The terminal's download runs on the core that holds its session: targets of terminals another core
        // holds are that core's; those of terminals nobody holds may be claimed by any core (one that cannot
        // reach the device gives the target back without starting a download).
        condition += """
             AND NOT EXISTS (SELECT 1 FROM terminal_sessions s WHERE s.terminal_id = campaign_targets.terminal_id
                AND s.core_id IS NOT NULL AND s.core_id <> $2)
            """
        if let phase {
            binds.append(.text(phase.rawValue))
            condition += " AND phase = $6"
        }
        // The rows are picked once, in a materialised CTE: as a plain `IN (subquery)` PostgreSQL may
        // re-run the pick while updating and claim more than `limit`. A running target taken over stays
        // running: its download exists, the new holder follows it.
        let claimed = try await write(input, [SQLStatement("""
            WITH picked AS MATERIALIZED (
                SELECT terminal_id FROM campaign_targets WHERE campaign_id = $1 AND \(condition)
                ORDER BY phase, CASE WHEN EXISTS (SELECT 1 FROM terminal_sessions s WHERE s.terminal_id = campaign_targets.terminal_id
                    AND s.core_id = $2) THEN 0 ELSE 1 END, terminal_id LIMIT $5 \(executor.claimLockClause)
            )
            UPDATE campaign_targets SET state = CASE WHEN state = 'running' THEN 'running' ELSE 'claimed' END,
                claimed_by = $2, claim_expires_at = $3, updated_at = $4
            WHERE campaign_id = $1 AND terminal_id IN (SELECT terminal_id FROM picked)
            RETURNING terminal_id
            """, binds)])
        return claimed[0]
    }

    public func heldCampaignTargets(campaignID: String, coreID: String) async throws -> [CampaignTarget] {
        let input = StoreInput(operation: "heldCampaignTargets")
        try input.key(campaignID, "campaign id")
        try input.key(coreID, "core id")
        return try await executor.read(input.operation, CampaignTargetTable.select(
            "WHERE campaign_id = $1 AND claimed_by = $2 AND state IN ('claimed', 'running') ORDER BY phase, terminal_id",
            [.text(campaignID), .text(coreID)]))
    }

    public func renewCampaignClaims(campaignID: String, coreID: String, until: Int64) async throws {
        let input = StoreInput(operation: "renewCampaignClaims")
        try input.key(campaignID, "campaign id")
        try input.key(coreID, "core id")
        try await write(input, [SQLStatement("""
            UPDATE campaign_targets SET claim_expires_at = $3
            WHERE campaign_id = $1 AND claimed_by = $2 AND state IN ('claimed', 'running') RETURNING terminal_id
            """, [.text(campaignID), .text(coreID), .integer(until)])])
    }

    public func saveCampaignTarget(_ target: CampaignTarget, holder coreID: String) async throws -> Bool {
        let input = StoreInput(operation: "saveCampaignTarget")
        try input.key(coreID, "core id")
        let values = try CampaignTargetTable.values(target, input)
        let assignments = CampaignTargetTable.columns.enumerated().dropFirst(2).map { "\($0.element) = $\($0.offset + 1)" }
        let holder = values.count + 1
        let updated = try await write(input, [SQLStatement("""
            UPDATE campaign_targets SET \(assignments.joined(separator: ", "))
            WHERE campaign_id = $1 AND terminal_id = $2 AND claimed_by = $\(holder) AND state IN ('claimed', 'running') RETURNING terminal_id
            """, values + [.text(coreID)])])
        return updated[0] > 0
    }

    public func campaignStarts(campaignID: String, since: Int64) async throws -> Int {
        try await count("campaignStarts", "SELECT count(*) FROM campaign_targets WHERE campaign_id = $1 AND started_at >= $2",
                        campaignID, .integer(since))
    }

    public func campaignRunningCount(campaignID: String, smdpAddress: String) async throws -> Int {
        try await count("campaignRunningCount",
                        "SELECT count(*) FROM campaign_targets WHERE campaign_id = $1 AND state = 'running' AND smdp_address = $2",
                        campaignID, .text(smdpAddress))
    }

    // MARK: Internals

    private func count(_ operation: String, _ sql: String, _ campaignID: String, _ value: SQLValue) async throws -> Int {
        let input = StoreInput(operation: operation)
        try input.key(campaignID, "campaign id")
        let counts = try await executor.read(operation, SQLQuery(table: CampaignTargetTable.name, sql, [.text(campaignID), value]) {
            try $0.int(0, "count")
        })
        return counts.first ?? 0
    }

    private static func checkTargets(_ targets: [CampaignTarget], of campaignID: String, _ input: StoreInput) throws {
        var seen = Set<String>()
        for target in targets {
            if target.campaignID != campaignID { throw input.invalid("target \(target.terminalID) belongs to campaign '\(target.campaignID)', not '\(campaignID)'") }
            if !seen.insert(target.terminalID).inserted { throw input.invalid("terminal '\(target.terminalID)' is a target twice") }
        }
    }
}
