import LPADomain

extension WebhookEvent {
    /// The data of a job event: the job as stored, without its matching ID (part of an activation code).
    struct JobData: Encodable, Sendable {
        var id: String
        var terminalID: String
        var eid: String
        var smdpAddress: String
        var profileType: String
        var state: String
        var previousState: String?
        var attempt: Int
        var iccid: String?
        var previousICCID: String?
        var roundTrips: Int
        var errorCode: String?
        var errorText: String?
        var createdAt: Int64
        var updatedAt: Int64
        var finishedAt: Int64?
    }

    /// The event type of a job change: `job.created` for a new job, `job.confirmed`, `job.failed` (failed or
    /// never came back) and `job.cancelled` for those ends, `job.state_changed` for every other move.
    public static func type(ofJobChangeTo state: ProvisioningJob.State, from previous: ProvisioningJob.State?) -> WebhookEventType {
        guard previous != nil else { return .jobCreated }
        switch state {
        case .confirmed: return .jobConfirmed
        case .failed, .returnTimedOut: return .jobFailed
        case .cancelled: return .jobCancelled
        default: return .jobStateChanged
        }
    }

    /// The event for `job` having been created (`previous` nil) or moved from `previous`; it happened at the
    /// job's `updatedAt`.
    public static func job(_ job: ProvisioningJob, from previous: ProvisioningJob.State?) throws -> WebhookEvent {
        let data = JobData(
            id: job.id, terminalID: job.terminalID, eid: job.eid, smdpAddress: job.smdpAddress, profileType: job.profileType,
            state: job.state.rawValue, previousState: previous?.rawValue, attempt: job.attempt, iccid: job.iccid,
            previousICCID: job.previousICCID, roundTrips: job.roundTrips, errorCode: job.errorCode, errorText: job.errorText,
            createdAt: job.createdAt, updatedAt: job.updatedAt, finishedAt: job.finishedAt)
        return try WebhookEvent(type: type(ofJobChangeTo: job.state, from: previous), occurredAt: job.updatedAt, payload: data)
    }
}
