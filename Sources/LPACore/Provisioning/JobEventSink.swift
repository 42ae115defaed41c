import LPADomain
import LPAStore

/// Hears about provisioning jobs as they are created and change state: the seam the webhooks (and any other
/// observer) hang on, so the provisioning code knows nothing about them.
///
/// Called from the provisioning service and its download runs, on whatever task saved the job, after the save
/// succeeded. Implementations must be quick (record the event and return) and must not throw: a sink's
/// failure is its own to log, never the job's.
public protocol JobEventSink: Sendable {
    /// `job` as just stored. `from` is nil for a new job, otherwise the state stored before this change (never
    /// equal to `job.state`: saves that keep the state are not reported).
    func jobChanged(_ job: ProvisioningJob, from: ProvisioningJob.State?) async
}

extension Store {
    /// ``Store/createJob(_:)``, then tells `sink` when the job was stored.
    func createJob(_ job: ProvisioningJob, reporting sink: (any JobEventSink)?) async throws -> Bool {
        let created = try await createJob(job)
        if created { await sink?.jobChanged(job, from: nil) }
        return created
    }

    /// ``Store/saveJob(_:from:)`` (compare-and-set on `from` and the job's owner), then tells `sink` when the
    /// state moved away from `from`: a refused save reports nothing, so no transition is told twice.
    func saveJob(_ job: ProvisioningJob, from: ProvisioningJob.State, reporting sink: (any JobEventSink)?) async throws {
        try await saveJob(job, from: from)
        if from != job.state { await sink?.jobChanged(job, from: from) }
    }
}

/// Receives every campaign state change (started, paused, resumed, completed, canceled) after it is stored.
public protocol CampaignEventSink: Sendable {
    /// `campaign` as just stored; `from` is the state before (nil for a campaign created running).
    func campaignChanged(_ campaign: Campaign, from: Campaign.State?) async
}
