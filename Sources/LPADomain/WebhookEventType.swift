/// The name of a webhook event, sent as `X-ServerLPA-Event` and as `type` in the body.
///
/// Job and campaign events.
public struct WebhookEventType: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// A provisioning job was created (S120).
    public static let jobCreated = WebhookEventType(rawValue: "job.created")
    /// A job moved to another step (any move not covered by the events below).
    public static let jobStateChanged = WebhookEventType(rawValue: "job.state_changed")
    /// The device came back on its new profile (S150 done).
    public static let jobConfirmed = WebhookEventType(rawValue: "job.confirmed")
    /// A job ended without a profile: `failed` or `returnTimedOut`.
    public static let jobFailed = WebhookEventType(rawValue: "job.failed")
    /// A job was cancelled by an operator or a campaign.
    public static let jobCancelled = WebhookEventType(rawValue: "job.cancelled")
    /// A campaign started, paused (by an operator or by itself), resumed, completed or was cancelled.
    public static let campaignStarted = WebhookEventType(rawValue: "campaign.started")
    public static let campaignPaused = WebhookEventType(rawValue: "campaign.paused")
    public static let campaignResumed = WebhookEventType(rawValue: "campaign.resumed")
    public static let campaignCompleted = WebhookEventType(rawValue: "campaign.completed")
    public static let campaignCancelled = WebhookEventType(rawValue: "campaign.cancelled")

    /// Every name an endpoint may subscribe to.
    public static let all: [WebhookEventType] = [
        .jobCreated, .jobStateChanged, .jobConfirmed, .jobFailed, .jobCancelled,
        .campaignStarted, .campaignPaused, .campaignResumed, .campaignCompleted, .campaignCancelled,
    ]

    /// Whether an endpoint's filter entry selects this event: an exact name, a family (`job.*`,
    /// `campaign.*`) or `*` for everything.
    public func matches(filter: String) -> Bool {
        if filter == "*" { return true }
        if filter.hasSuffix(".*") { return rawValue.hasPrefix(String(filter.dropLast())) }
        return filter == rawValue
    }

    /// Whether `filter` selects at least one known event (a misspelt name selects none).
    public static func isValidFilter(_ filter: String) -> Bool {
        all.contains { $0.matches(filter: filter) }
    }

    public var description: String { rawValue }
}
