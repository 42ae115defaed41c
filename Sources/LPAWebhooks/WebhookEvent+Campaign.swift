import LPADomain

extension WebhookEvent {
    /// The data of a campaign event.
    struct CampaignData: Encodable, Sendable {
        var campaignID: String
        var name: String
        var state: String
        var previousState: String?
        var pauseReason: String?
    }

    /// The event for a campaign's move from `previous` to its current state; nil for moves endpoints do not hear
    /// about (a draft being stored).
    public static func campaign(_ campaign: Campaign, from previous: Campaign.State?) throws -> WebhookEvent? {
        let type: WebhookEventType
        switch (previous, campaign.state) {
        case (.paused, .running): type = .campaignResumed
        case (_, .running): type = .campaignStarted
        case (_, .paused): type = .campaignPaused
        case (_, .completed): type = .campaignCompleted
        case (_, .canceled): type = .campaignCancelled
        default: return nil
        }
        return try WebhookEvent(
            type: type, occurredAt: campaign.updatedAt,
            payload: CampaignData(campaignID: campaign.id, name: campaign.name, state: campaign.state.rawValue,
                                  previousState: previous?.rawValue, pauseReason: campaign.pauseReason?.rawValue))
    }
}
