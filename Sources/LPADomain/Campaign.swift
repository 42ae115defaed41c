/// A named batch of profile downloads over a selected part of the fleet ("batch remote number writing"):
/// which devices, which requirement, how fast, and when to stop by itself.
///
/// The durable record is the campaign row plus one ``CampaignTarget`` per selected device; progress is
/// counted from the targets, so every core sees the same numbers.
public struct Campaign: Codable, Sendable, Hashable {
    /// Which devices the campaign covers. Every given criterion must match (they narrow each other); at
    /// least one must be given. Resolved once, when the campaign starts, over the registered devices.
    public struct Selection: Codable, Sendable, Hashable {
        /// Devices carrying every one of these tags.
        public var tags: [String]
        /// Devices the configuration rule of this name chose.
        public var ruleName: String?
        /// Devices whose EID came in with this fleet import.
        public var importID: String?
        /// Exactly these terminals.
        public var terminalIDs: [String]

        public init(tags: [String] = [], ruleName: String? = nil, importID: String? = nil, terminalIDs: [String] = []) {
            self.tags = tags
            self.ruleName = ruleName
            self.importID = importID
            self.terminalIDs = terminalIDs
        }

        public var isEmpty: Bool { tags.isEmpty && ruleName == nil && importID == nil && terminalIDs.isEmpty }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
            ruleName = try c.decodeIfPresent(String.self, forKey: .ruleName)
            importID = try c.decodeIfPresent(String.self, forKey: .importID)
            terminalIDs = try c.decodeIfPresent([String].self, forKey: .terminalIDs) ?? []
        }
    }

    /// A daily window in UTC in which new downloads may start; `endMinute < startMinute` wraps past midnight.
    public struct DailyWindow: Codable, Sendable, Hashable {
        /// Minutes after 00:00 UTC, 0...1439.
        public var startMinute: Int
        public var endMinute: Int

        public init(startMinute: Int, endMinute: Int) {
            self.startMinute = startMinute
            self.endMinute = endMinute
        }

        /// Whether Unix time `now` falls inside the window (start inclusive, end exclusive).
        public func contains(_ now: Int64) -> Bool {
            let minute = Int((now % 86_400 + 86_400) % 86_400 / 60)
            if startMinute <= endMinute { return minute >= startMinute && minute < endMinute }
            return minute >= startMinute || minute < endMinute
        }
    }

    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        /// Stored, targets not resolved yet; nothing runs.
        case draft
        /// Targets are started within the limits.
        case running
        /// No new downloads start (see `pauseReason`); downloads already running finish and are recorded.
        case paused
        /// Stopped for good; targets not started yet are skipped.
        case canceled
        /// Every target reached an outcome.
        case completed

        /// Whether the campaign may go from this state to `next` (every transition in one place).
        public func canMove(to next: State) -> Bool {
            switch (self, next) {
            case (.draft, .running), (.running, .paused), (.paused, .running), (.running, .completed),
                 (.draft, .canceled), (.running, .canceled), (.paused, .canceled):
                return true
            default:
                return false
            }
        }
    }

    /// Why a campaign paused.
    public enum PauseReason: String, Codable, Sendable, Hashable {
        case operatorRequest = "operator"
        /// A canary target failed for good; the rest does not start until an operator resumes.
        case canaryFailed = "canary_failed"
        /// Failed / finished crossed ``Campaign/failureThreshold``.
        case failureThreshold = "failure_threshold"
    }

    public var id: String
    public var name: String
    public var selection: Selection
    /// Replaces each device's own requirement (from its configuration rule) when given.
    public var requirement: DataConfigurationRequirement?
    /// Most downloads started per minute by all cores together.
    public var startsPerMinute: Int
    /// Most of this campaign's downloads running at once against one SM-DP+.
    public var concurrencyPerSMDP: Int
    public var window: DailyWindow?
    /// Share of the targets (0...1, rounded up, at least one when positive) that must all succeed first.
    public var canaryShare: Double
    /// Failed / finished ratio (0...1) that pauses the campaign once ``minimumFinished`` targets finished.
    public var failureThreshold: Double
    public var minimumFinished: Int
    /// Downloads tried per device before its target fails for good.
    public var maxAttempts: Int
    /// Delay before the second attempt; doubles for each further one (capped at one day).
    public var retryBackoffSeconds: Int64
    public var state: State
    public var pauseReason: PauseReason?
    /// Whether the rest may start: every canary succeeded, or an operator resumed after a canary failure.
    public var canaryPassed: Bool
    /// Failed and finished counts when the campaign last resumed; the threshold looks only at what came after.
    public var thresholdBaseFailed: Int
    public var thresholdBaseFinished: Int
    public var createdAt: Int64
    public var updatedAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?

    public init(id: String, name: String, selection: Selection, requirement: DataConfigurationRequirement? = nil,
                startsPerMinute: Int = 60, concurrencyPerSMDP: Int = 8, window: DailyWindow? = nil, canaryShare: Double = 0,
                failureThreshold: Double = 0.2, minimumFinished: Int = 10, maxAttempts: Int = 3, retryBackoffSeconds: Int64 = 300,
                state: State = .draft, pauseReason: PauseReason? = nil, canaryPassed: Bool = false,
                thresholdBaseFailed: Int = 0, thresholdBaseFinished: Int = 0,
                createdAt: Int64, updatedAt: Int64, startedAt: Int64? = nil, finishedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.selection = selection
        self.requirement = requirement
        self.startsPerMinute = startsPerMinute
        self.concurrencyPerSMDP = concurrencyPerSMDP
        self.window = window
        self.canaryShare = canaryShare
        self.failureThreshold = failureThreshold
        self.minimumFinished = minimumFinished
        self.maxAttempts = maxAttempts
        self.retryBackoffSeconds = retryBackoffSeconds
        self.state = state
        self.pauseReason = pauseReason
        self.canaryPassed = canaryPassed
        self.thresholdBaseFailed = thresholdBaseFailed
        self.thresholdBaseFinished = thresholdBaseFinished
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// What is wrong with the settings, or nil (field name first, for error reports).
    public func problem() -> (field: String, message: String)? {
        if id.isEmpty { return ("id", "must not be empty") }
        if name.isEmpty { return ("name", "must not be empty") }
        if selection.isEmpty { return ("selection", "give at least one of tags, ruleName, importID, terminalIDs") }
        if startsPerMinute < 1 { return ("startsPerMinute", "must be at least 1, is \(startsPerMinute)") }
        if concurrencyPerSMDP < 1 { return ("concurrencyPerSMDP", "must be at least 1, is \(concurrencyPerSMDP)") }
        if let window {
            for (value, field) in [(window.startMinute, "window.startMinute"), (window.endMinute, "window.endMinute")] where !(0..<1440).contains(value) {
                return (field, "must be within 0...1439 (minutes after 00:00 UTC), is \(value)")
            }
            if window.startMinute == window.endMinute { return ("window", "start and end are equal; omit the window to run all day") }
        }
        if !(0...1).contains(canaryShare) { return ("canaryShare", "must be within 0...1, is \(canaryShare)") }
        if !(0...1).contains(failureThreshold) { return ("failureThreshold", "must be within 0...1, is \(failureThreshold)") }
        if minimumFinished < 1 { return ("minimumFinished", "must be at least 1, is \(minimumFinished)") }
        if maxAttempts < 1 { return ("maxAttempts", "must be at least 1, is \(maxAttempts)") }
        if retryBackoffSeconds < 0 { return ("retryBackoffSeconds", "must not be negative, is \(retryBackoffSeconds)") }
        return nil
    }

    /// How many of `count` targets (in terminal-id order) form the canary phase.
    public func canaryCount(of count: Int) -> Int {
        guard canaryShare > 0, count > 0 else { return 0 }
        return min(count, max(1, Int((Double(count) * canaryShare).rounded(.up))))
    }

    /// Seconds before attempt `attempts + 1` after `attempts` failed ones.
    public func backoff(afterAttempts attempts: Int) -> Int64 {
        let doublings = max(0, min(attempts - 1, 20))
        return min(retryBackoffSeconds << Int64(doublings), 86_400)
    }
}

/// One device of a campaign: its phase, where it stands, and which core holds it.
public struct CampaignTarget: Codable, Sendable, Hashable {
    public enum Phase: String, Codable, Sendable, Hashable, CaseIterable {
        case canary
        case main
    }

    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        /// Waiting to start (first time, or again after `nextAttemptAt`).
        case pending
        /// Held by a core (`claimedBy`) that is about to start its download.
        case claimed
        /// Its download (`jobID`) is under way; the holding core records the outcome.
        case running
        case succeeded
        /// Failed `maxAttempts` times, or failed with nothing left to try.
        case failed
        /// Not attempted: unknown device, no requirement, or the campaign was canceled first.
        case skipped

        /// Whether the target reached its outcome.
        public var isFinal: Bool { self == .succeeded || self == .failed || self == .skipped }
    }

    public var campaignID: String
    public var terminalID: String
    public var phase: Phase
    public var state: State
    /// Downloads started for this target.
    public var attempts: Int
    /// Unix seconds before which a pending target does not start.
    public var nextAttemptAt: Int64
    /// The core holding the target, and until when its claim lasts without renewal.
    public var claimedBy: String?
    public var claimExpiresAt: Int64?
    public var jobID: String?
    /// The SM-DP+ of the running download (for the per-SM-DP+ limit).
    public var smdpAddress: String?
    /// When the last download started.
    public var startedAt: Int64?
    public var lastError: String?
    public var updatedAt: Int64

    public init(campaignID: String, terminalID: String, phase: Phase, state: State = .pending, attempts: Int = 0, nextAttemptAt: Int64 = 0,
                claimedBy: String? = nil, claimExpiresAt: Int64? = nil, jobID: String? = nil, smdpAddress: String? = nil,
                startedAt: Int64? = nil, lastError: String? = nil, updatedAt: Int64) {
        self.campaignID = campaignID
        self.terminalID = terminalID
        self.phase = phase
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.claimedBy = claimedBy
        self.claimExpiresAt = claimExpiresAt
        self.jobID = jobID
        self.smdpAddress = smdpAddress
        self.startedAt = startedAt
        self.lastError = lastError
        self.updatedAt = updatedAt
    }
}

/// Targets counted by phase and state.
public struct CampaignProgress: Codable, Sendable, Hashable {
    public var counts: [CampaignTarget.Phase: [CampaignTarget.State: Int]]

    public init(counts: [CampaignTarget.Phase: [CampaignTarget.State: Int]] = [:]) {
        self.counts = counts
    }

    public func count(_ state: CampaignTarget.State, phase: CampaignTarget.Phase? = nil) -> Int {
        let phases = phase.map { [$0] } ?? CampaignTarget.Phase.allCases
        return phases.reduce(0) { $0 + (counts[$1]?[state] ?? 0) }
    }

    public func total(phase: CampaignTarget.Phase? = nil) -> Int {
        CampaignTarget.State.allCases.reduce(0) { $0 + count($1, phase: phase) }
    }

    /// Targets with an outcome other than skipped (the threshold's denominator).
    public var finished: Int { count(.succeeded) + count(.failed) }

    /// Targets not final yet.
    public func open(phase: CampaignTarget.Phase? = nil) -> Int {
        count(.pending, phase: phase) + count(.claimed, phase: phase) + count(.running, phase: phase)
    }

    private enum CodingKeys: String, CodingKey { case total, pending, claimed, running, succeeded, failed, skipped, canary }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(total(), forKey: .total)
        try c.encode(count(.pending), forKey: .pending)
        try c.encode(count(.claimed), forKey: .claimed)
        try c.encode(count(.running), forKey: .running)
        try c.encode(count(.succeeded), forKey: .succeeded)
        try c.encode(count(.failed), forKey: .failed)
        try c.encode(count(.skipped), forKey: .skipped)
        let canary = Dictionary(uniqueKeysWithValues: CampaignTarget.State.allCases.map { ($0.rawValue, count($0, phase: .canary)) })
        try c.encode(canary, forKey: .canary)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var main: [CampaignTarget.State: Int] = [:]
        var canary: [CampaignTarget.State: Int] = [:]
        let canaryCounts = try c.decodeIfPresent([String: Int].self, forKey: .canary) ?? [:]
        for state in CampaignTarget.State.allCases {
            let key = CodingKeys(stringValue: state.rawValue)!
            let all = try c.decodeIfPresent(Int.self, forKey: key) ?? 0
            let inCanary = canaryCounts[state.rawValue] ?? 0
            canary[state] = inCanary
            main[state] = all - inCanary
        }
        counts = [.canary: canary, .main: main]
    }
}
