import Foundation
import Hummingbird
import LPACore
import LPADomain
import LPAStore

/// `POST /v1/campaigns`: a campaign as an operator writes it. Everything but `name` and `selection` has a default.
struct CampaignRequest: Decodable {
    var id: String?
    var name: String
    var selection: Campaign.Selection
    var requirement: DataConfigurationRequirement?
    var startsPerMinute: Int?
    var concurrencyPerSMDP: Int?
    var window: Campaign.DailyWindow?
    var canaryShare: Double?
    var failureThreshold: Double?
    var minimumFinished: Int?
    var maxAttempts: Int?
    var retryBackoffSeconds: Int64?
    /// Start at once (default) or keep as a draft until `POST /v1/campaigns/{id}/start`.
    var start: Bool?

    func campaign() throws -> Campaign {
        let defaults = Campaign(id: "", name: "", selection: .init(), createdAt: 0, updatedAt: 0)
        let campaign = Campaign(
            id: id ?? UUID().uuidString.lowercased(), name: name, selection: selection, requirement: requirement,
            startsPerMinute: startsPerMinute ?? defaults.startsPerMinute, concurrencyPerSMDP: concurrencyPerSMDP ?? defaults.concurrencyPerSMDP,
            window: window, canaryShare: canaryShare ?? defaults.canaryShare, failureThreshold: failureThreshold ?? defaults.failureThreshold,
            minimumFinished: minimumFinished ?? defaults.minimumFinished, maxAttempts: maxAttempts ?? defaults.maxAttempts,
            retryBackoffSeconds: retryBackoffSeconds ?? defaults.retryBackoffSeconds, createdAt: 0, updatedAt: 0)
        if let (field, message) = campaign.problem() { throw AdminError.invalid(message, field: field) }
        if let id, id.utf8.count > 128 || id.contains("/") { throw AdminError.invalid("at most 128 bytes, no '/'", field: "id") }
        return campaign
    }
}

/// A campaign with its progress (list and single views).
struct CampaignSummary: Encodable {
    var campaign: Campaign
    var progress: CampaignProgress

    private enum CodingKeys: String, CodingKey { case progress }

    func encode(to encoder: any Encoder) throws {
        try campaign.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(progress, forKey: .progress)
    }
}

/// `GET /v1/campaigns/{id}`: the campaign, its progress and one page of per-device outcomes.
struct CampaignDetail: Encodable {
    var campaign: CampaignSummary
    var targets: [CampaignTarget]
    var next: String?
}

extension AdminAPI {
    static let campaignRoutes: [AdminRoute] = [
        AdminRoute(.get, "/v1/campaigns", .read),
        AdminRoute(.post, "/v1/campaigns", .operate),
        AdminRoute(.get, "/v1/campaigns/{id}", .read),
        AdminRoute(.post, "/v1/campaigns/{id}/start", .operate),
        AdminRoute(.post, "/v1/campaigns/{id}/pause", .operate),
        AdminRoute(.post, "/v1/campaigns/{id}/resume", .operate),
        AdminRoute(.post, "/v1/campaigns/{id}/cancel", .operate),
    ]

    func campaignHandler(for route: AdminRoute) -> Handler? {
        switch (route.method, route.path) {
        case (.get, "/v1/campaigns"): return { r, _ in
            let q = try AdminQuery(r, allowed: ["state"])
            let state = try q.enumeration("state", Campaign.State.self)
            var summaries: [CampaignSummary] = []
            for campaign in try await store.campaigns(states: state.map { [$0] }) {
                summaries.append(CampaignSummary(campaign: campaign, progress: try await store.campaignProgress(id: campaign.id)))
            }
            return AdminJSON.response(["campaigns": summaries])
        }
        case (.post, "/v1/campaigns"): return { r, _ in
            let request = try await AdminJSON.decode(CampaignRequest.self, from: r)
            let created = try await runner().create(try request.campaign(), start: request.start ?? true)
            return AdminJSON.response(try await summary(created.id), status: .created)
        }
        case (.get, "/v1/campaigns/{id}"): return { r, c in
            let q = try AdminQuery(r, allowed: ["state", "cursor", "limit"])
            let id = try AdminQuery.pathParameter(c, "id")
            let limit = try q.limit()
            let targets = try await store.campaignTargets(campaignID: id, state: try q.enumeration("state", CampaignTarget.State.self),
                                                          after: try q.string("cursor"), limit: limit)
            return AdminJSON.response(CampaignDetail(campaign: try await summary(id), targets: targets,
                                                     next: targets.count == limit ? targets.last?.terminalID : nil))
        }
        case (.post, "/v1/campaigns/{id}/start"): return { _, c in try await control(c) { try await $0.start(id: $1) } }
        case (.post, "/v1/campaigns/{id}/pause"): return { _, c in try await control(c) { try await $0.pause(id: $1) } }
        case (.post, "/v1/campaigns/{id}/resume"): return { _, c in try await control(c) { try await $0.resume(id: $1) } }
        case (.post, "/v1/campaigns/{id}/cancel"): return { _, c in try await control(c) { try await $0.cancel(id: $1) } }
        default: return nil
        }
    }

    func runner() throws -> CampaignRunner {
        guard let campaigns else {
            throw AdminError(.serviceUnavailable, "CAMPAIGNS_UNAVAILABLE", "this core runs no campaigns (no provisioning service)")
        }
        return campaigns
    }

    private func summary(_ id: String) async throws -> CampaignSummary {
        guard let campaign = try await store.campaign(id: id) else { throw AdminError.notFound("no campaign '\(id)'", field: "id") }
        return CampaignSummary(campaign: campaign, progress: try await store.campaignProgress(id: id))
    }

    private func control(_ context: BasicRequestContext, _ action: (CampaignRunner, String) async throws -> Campaign) async throws -> Response {
        let id = try AdminQuery.pathParameter(context, "id")
        let campaign = try await action(try runner(), id)
        return AdminJSON.response(try await summary(campaign.id))
    }
}
