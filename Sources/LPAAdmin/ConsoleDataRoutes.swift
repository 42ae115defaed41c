import Foundation
import Hummingbird
import LPACore
import LPADomain
import LPAStore

/// `GET /v1/session`: who the presented token belongs to (the console shows the role and hides
/// what it may not do; the server refuses it regardless).
struct SessionInfo: Encodable {
    var name: String
    var role: AdminRole
    /// Every role this token includes, lowest first.
    var roles: [AdminRole]
}

/// `GET /v1/fleet/summary`: registered devices counted by presence, model, rule and newest job state.
struct FleetSummary: Encodable {
    var devices: Int
    var byPresence: [String: Int]
    var byModel: [String: Int]
    var byRule: [String: Int]
    var byJobState: [String: Int]
}

/// `GET /v1/jobs/failures`: failed jobs of a period grouped by error code, most frequent first.
struct JobFailureReport: Encodable {
    struct Group: Encodable {
        var code: String
        var count: Int
        /// When the newest of them finished.
        var lastAt: Int64
        /// The newest job of the group, as an example.
        var exampleJobID: String
        var exampleText: String?
    }

    var since: Int64
    var total: Int
    /// True when more failed jobs than `limit` ended in the period (the counts cover the newest `limit`).
    var truncated: Bool
    var groups: [Group]
}

/// `POST /v1/campaigns/preview`: how many devices a campaign's selection holds now.
struct CampaignPreview: Encodable {
    var selected: Int
    var canary: Int
}

extension AdminAPI {
    /// The routes the console needs beyond the library, device, job and campaign ones.
    static let consoleDataRoutes: [AdminRoute] = [
        AdminRoute(.get, "/v1/session", .read),
        AdminRoute(.get, "/v1/fleet/summary", .read),
        AdminRoute(.get, "/v1/fleet/presence-history", .read),
        AdminRoute(.get, "/v1/jobs/failures", .read),
        AdminRoute(.post, "/v1/campaigns/preview", .operate),
    ]

    /// Devices read per store page when counting the fleet.
    public static let summaryPageSize = 1000
    /// Failed jobs read at most for one failure report.
    static let failureReportLimit = 10_000

    func consoleDataHandler(for route: AdminRoute) -> Handler? {
        switch (route.method, route.path) {
        case (.get, "/v1/session"): return { r, _ in
            _ = try AdminQuery(r, allowed: [])
            let holder = try authenticator.authenticate(r)
            return AdminJSON.response(SessionInfo(name: holder.name, role: holder.role,
                                                  roles: AdminRole.allCases.filter { $0 <= holder.role }))
        }
        case (.get, "/v1/fleet/summary"): return { r, _ in
            _ = try AdminQuery(r, allowed: [])
            return AdminJSON.response(try await fleetSummary())
        }
        case (.get, "/v1/fleet/presence-history"): return { r, _ in
            let q = try AdminQuery(r, allowed: ["since"])
            let since = try q.integer("since") ?? 0
            let samples = await presenceHistory?.samples(since: since) ?? []
            let interval = presenceHistory.map { Int($0.interval.components.seconds) } ?? 0
            return AdminJSON.response(PresenceHistory(intervalSeconds: interval, samples: samples))
        }
        case (.get, "/v1/jobs/failures"): return { r, _ in
            let q = try AdminQuery(r, allowed: ["since"])
            guard let since = try q.integer("since") else { throw AdminError.invalid("required: Unix seconds", field: "since") }
            return AdminJSON.response(try await failureReport(since: since))
        }
        case (.post, "/v1/campaigns/preview"): return { r, _ in
            let request = try await AdminJSON.decode(CampaignRequest.self, from: r)
            let campaign = try request.campaign()
            let selected = try await runner().selectionSize(campaign)
            return AdminJSON.response(CampaignPreview(selected: selected, canary: campaign.canaryCount(of: selected)))
        }
        default: return nil
        }
    }

    private func fleetSummary() async throws -> FleetSummary {
        var summary = FleetSummary(devices: 0, byPresence: ["online": 0, "offline": 0], byModel: [:], byRule: [:], byJobState: [:])
        var cursor: String?
        repeat {
            let page = try await store.devices(DeviceQuery(after: cursor, limit: Self.summaryPageSize))
            for item in page.devices {
                summary.devices += 1
                summary.byPresence[(item.presence ?? .offline).rawValue, default: 0] += 1
                summary.byModel[item.device.model, default: 0] += 1
                summary.byRule[item.device.ruleName ?? "(none)", default: 0] += 1
                summary.byJobState[item.latestJobState?.rawValue ?? "(none)", default: 0] += 1
            }
            cursor = page.next
        } while cursor != nil
        return summary
    }

    private func failureReport(since: Int64) async throws -> JobFailureReport {
        let limit = Self.failureReportLimit
        let jobs = try await store.finishedJobs(states: [.failed, .returnTimedOut], finishedSince: since, limit: limit + 1)
        var groups: [String: JobFailureReport.Group] = [:]
        for job in jobs.prefix(limit) {
            let code = job.errorCode ?? (job.state == .returnTimedOut ? "job.return_timed_out" : "(none)")
            if var group = groups[code] {
                group.count += 1
                groups[code] = group
            } else {
                // Newest first: the first job seen of a code is its newest.
                groups[code] = .init(code: code, count: 1, lastAt: job.finishedAt ?? job.updatedAt, exampleJobID: job.id, exampleText: job.errorText)
            }
        }
        let sorted = groups.values.sorted { ($0.count, $1.code) > ($1.count, $0.code) }
        return JobFailureReport(since: since, total: min(jobs.count, limit), truncated: jobs.count > limit, groups: sorted)
    }
}

/// `GET /v1/fleet/presence-history`.
struct PresenceHistory: Encodable {
    var intervalSeconds: Int
    var samples: [PresenceSampler.Sample]
}
