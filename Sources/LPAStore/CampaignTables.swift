import LPADomain

enum CampaignTable: StoreTable {
    static let name = "campaigns"
    static let columns = ["id", "name", "selection", "requirement", "starts_per_minute", "concurrency_per_smdp", "window_start_minute",
                          "window_end_minute", "canary_share_ppm", "failure_threshold_ppm", "minimum_finished", "max_attempts",
                          "retry_backoff_seconds", "state", "pause_reason", "canary_passed", "threshold_base_failed",
                          "threshold_base_finished", "created_at", "updated_at", "started_at", "finished_at"]

    /// Shares are stored as integer parts per million, exact on both backends.
    static func ppm(_ share: Double) -> Int { Int((share * 1_000_000).rounded()) }

    static func values(_ campaign: Campaign, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(campaign.id, "campaign id")
        try input.text(campaign.name, "campaign name")
        if let (field, message) = campaign.problem() { throw input.invalid("campaign \(campaign.id): \(field) \(message)") }
        for tag in campaign.selection.tags { try input.key(tag, "selection tag of campaign \(campaign.id)") }
        for terminalID in campaign.selection.terminalIDs { try input.key(terminalID, "selected terminal id of campaign \(campaign.id)") }
        try input.optionalText(campaign.selection.ruleName, "selection rule of campaign \(campaign.id)")
        try input.optionalText(campaign.selection.importID, "selection import of campaign \(campaign.id)")
        return [
            .text(campaign.id), .text(campaign.name),
            .text(try StoreJSON.encode(campaign.selection, operation: input.operation, field: "selection")),
            .optionalText(try campaign.requirement.map { try StoreJSON.encode($0, operation: input.operation, field: "requirement") }),
            .int(campaign.startsPerMinute), .int(campaign.concurrencyPerSMDP),
            campaign.window.map { .int($0.startMinute) } ?? .null, campaign.window.map { .int($0.endMinute) } ?? .null,
            .int(ppm(campaign.canaryShare)), .int(ppm(campaign.failureThreshold)), .int(campaign.minimumFinished),
            .int(campaign.maxAttempts), .integer(campaign.retryBackoffSeconds), .text(campaign.state.rawValue),
            .optionalText(campaign.pauseReason?.rawValue), .bool(campaign.canaryPassed), .int(campaign.thresholdBaseFailed),
            .int(campaign.thresholdBaseFinished), .integer(campaign.createdAt), .integer(campaign.updatedAt),
            campaign.startedAt.map(SQLValue.integer) ?? .null, campaign.finishedAt.map(SQLValue.integer) ?? .null,
        ]
    }

    static func decode(_ row: inout RowReader) throws -> Campaign {
        let windowStart = try row.optionalInteger(6, "window_start_minute")
        let windowEnd = try row.optionalInteger(7, "window_end_minute")
        var window: Campaign.DailyWindow?
        if let windowStart, let windowEnd { window = Campaign.DailyWindow(startMinute: Int(windowStart), endMinute: Int(windowEnd)) }
        return Campaign(
            id: try row.readKey(0, "id"), name: try row.text(1, "name"),
            selection: try row.json(Campaign.Selection.self, 2, "selection"),
            requirement: try row.optionalJSON(DataConfigurationRequirement.self, 3, "requirement"),
            startsPerMinute: try row.int(4, "starts_per_minute"), concurrencyPerSMDP: try row.int(5, "concurrency_per_smdp"),
            window: window, canaryShare: Double(try row.int(8, "canary_share_ppm")) / 1_000_000,
            failureThreshold: Double(try row.int(9, "failure_threshold_ppm")) / 1_000_000,
            minimumFinished: try row.int(10, "minimum_finished"), maxAttempts: try row.int(11, "max_attempts"),
            retryBackoffSeconds: try row.integer(12, "retry_backoff_seconds"),
            state: try row.enumeration(Campaign.State.self, 13, "state"),
            pauseReason: try row.optionalEnumeration(Campaign.PauseReason.self, 14, "pause_reason"),
            canaryPassed: try row.bool(15, "canary_passed"), thresholdBaseFailed: try row.int(16, "threshold_base_failed"),
            thresholdBaseFinished: try row.int(17, "threshold_base_finished"), createdAt: try row.integer(18, "created_at"),
            updatedAt: try row.integer(19, "updated_at"), startedAt: try row.optionalInteger(20, "started_at"),
            finishedAt: try row.optionalInteger(21, "finished_at"))
    }
}

enum CampaignTargetTable: StoreTable {
    static let name = "campaign_targets"
    static let columns = ["campaign_id", "terminal_id", "phase", "state", "attempts", "next_attempt_at", "claimed_by", "claim_expires_at",
                          "job_id", "smdp_address", "started_at", "last_error", "updated_at"]

    static func values(_ target: CampaignTarget, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(target.campaignID, "campaign id of target")
        try input.key(target.terminalID, "terminal id of target")
        try input.nonNegative(target.attempts, "attempts of target \(target.terminalID)")
        for (value, field) in [(target.claimedBy, "claimed by"), (target.jobID, "job id"), (target.smdpAddress, "SM-DP+ address"),
                               (target.lastError, "last error")] {
            try input.optionalText(value, "\(field) of target \(target.terminalID)")
        }
        return [
            .text(target.campaignID), .text(target.terminalID), .text(target.phase.rawValue), .text(target.state.rawValue),
            .int(target.attempts), .integer(target.nextAttemptAt), .optionalText(target.claimedBy),
            target.claimExpiresAt.map(SQLValue.integer) ?? .null, .optionalText(target.jobID), .optionalText(target.smdpAddress),
            target.startedAt.map(SQLValue.integer) ?? .null, .optionalText(target.lastError), .integer(target.updatedAt),
        ]
    }

    static func decode(_ row: inout RowReader) throws -> CampaignTarget {
        let campaignID = try row.text(0, "campaign_id")
        let terminalID = try row.text(1, "terminal_id")
        row.setKey("\(campaignID)/\(terminalID)")
        return CampaignTarget(
            campaignID: campaignID, terminalID: terminalID,
            phase: try row.enumeration(CampaignTarget.Phase.self, 2, "phase"),
            state: try row.enumeration(CampaignTarget.State.self, 3, "state"),
            attempts: try row.int(4, "attempts"), nextAttemptAt: try row.integer(5, "next_attempt_at"),
            claimedBy: try row.optionalText(6, "claimed_by"), claimExpiresAt: try row.optionalInteger(7, "claim_expires_at"),
            jobID: try row.optionalText(8, "job_id"), smdpAddress: try row.optionalText(9, "smdp_address"),
            startedAt: try row.optionalInteger(10, "started_at"), lastError: try row.optionalText(11, "last_error"),
            updatedAt: try row.integer(12, "updated_at"))
    }
}
