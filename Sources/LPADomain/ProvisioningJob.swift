/// One profile download (or profile operation) for one device: the durable record of the provisioning
/// state machine. The core saves it after every step, so a restart finds exactly where each job stood.
public struct ProvisioningJob: Codable, Sendable, Hashable {
    /// The steps of a download (SGP.22 §3.1.3 as the LPA sees it) and the terminal states.
    ///
    /// The order of the download steps is the order of the cases from `queued` to `confirmed`;
    /// ``canMove(to:)`` holds every allowed transition in one place.
    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        /// Waiting for a slot under the concurrency limits, or for the device to be online.
        case queued
        /// ISD-R channel, challenge, EUICCInfo1 and the eUICC's pending notifications (one batch).
        case readingEUICC
        /// ES9+ initiateAuthentication and ES10b.AuthenticateServer.
        case authenticating
        /// ES9+ authenticateClient and ES10b.PrepareDownload.
        case preparing
        /// ES9+ getBoundProfilePackage and unpacking (S130).
        case fetchingPackage
        /// The load commands are on their way to the eUICC (S140), EnableProfile with the last of them; a
        /// restart here asks the eUICC what happened.
        case loading
        /// The profile is installed; ProfileInstallationResult goes to the SM-DP+.
        case installed
        /// S150: EnableProfile (with RemoveNotificationFromList when it goes on its own) went to the eUICC.
        case enabling
        /// Enabled; waiting for the device to come back on the new profile.
        case awaitingReturn
        /// The device came back with the new ICCID.
        case confirmed
        /// Stopped with an error (see `errorCode`); the session was cancelled where one existed.
        case failed
        /// The device never came back within the configured time after enable.
        case returnTimedOut
        /// Cancelled by an operator or a campaign.
        case cancelled

        /// States in which the enable may have taken effect on the eUICC: the device's return on the job's
        /// ICCID confirms the job from any of them.
        /// The enable travels with the last load command, so it may have taken effect from `loading` on.
        public var mayHaveEnabled: Bool {
            switch self {
            case .loading, .installed, .enabling, .awaitingReturn: return true
            default: return false
            }
        }

        /// States in which the job holds the device.
        public var isActive: Bool {
            switch self {
            case .confirmed, .failed, .returnTimedOut, .cancelled: return false
            default: return true
            }
        }

        /// Whether the job may go from this state to `next`.
        public func canMove(to next: State) -> Bool {
            if next == .failed || next == .cancelled { return isActive }
            switch (self, next) {
            case (.queued, .readingEUICC), (.readingEUICC, .authenticating), (.authenticating, .preparing),
                 (.preparing, .fetchingPackage), (.fetchingPackage, .loading), (.loading, .installed),
                 (.installed, .enabling), (.enabling, .awaitingReturn), (.awaitingReturn, .confirmed),
                 (.awaitingReturn, .returnTimedOut):
                return true
            // The device came back on the new profile before the enable's answer reached the core (the job
            // was, or was paused, in a state where the enable may have taken effect).
            case (.loading, .confirmed), (.installed, .confirmed), (.enabling, .confirmed):
                return true
            // A restart before the package was loaded starts the download again.
            case (.readingEUICC, .queued), (.authenticating, .queued), (.preparing, .queued), (.fetchingPackage, .queued),
                 (.loading, .queued):
                return true
            // The profile turned out to be on the eUICC already (earlier attempt): go straight to enabling.
            case (.readingEUICC, .installed), (.loading, .enabling):
                return true
            default:
                return false
            }
        }
    }

    public var id: String
    public var terminalID: String
    public var eid: String
    public var smdpAddress: String
    public var profileType: String
    public var matchingID: String?
    public var state: State
    /// Download attempts started (1 for the first).
    public var attempt: Int
    /// The ES9+ transaction of the current attempt, hex.
    public var transactionID: String?
    /// The ICCID the SM-DP+ announced in the profile metadata, then installed.
    public var iccid: String?
    /// The ICCID the device reported when the job was created.
    public var previousICCID: String?
    /// Terminal round trips spent by the download (channel open to enable).
    public var roundTrips: Int
    /// Stable error code of the last failure (`es9.failed`, `rsp.invalid_bpp`, `apdu.status_word`, …).
    public var errorCode: String?
    public var errorText: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    public var finishedAt: Int64?
    /// The node id of the core that claimed the job last; only that core drives it while its claim lasts.
    public var owner: String?
    /// When the owner's claim runs out (Unix seconds); nil once released. Another core may claim the job
    /// after that.
    public var claimUntil: Int64?

    /// Whether `coreID` may claim the job at `now`: nobody holds it, `coreID` holds it already, or the
    /// holder's claim ran out.
    public func isClaimable(by coreID: String, now: Int64) -> Bool {
        owner == nil || owner == coreID || (claimUntil ?? 0) < now
    }

    public init(
        id: String, terminalID: String, eid: String, smdpAddress: String, profileType: String, matchingID: String?,
        state: State = .queued, attempt: Int = 0, transactionID: String? = nil, iccid: String? = nil,
        previousICCID: String? = nil, roundTrips: Int = 0, errorCode: String? = nil, errorText: String? = nil,
        createdAt: Int64, updatedAt: Int64, finishedAt: Int64? = nil, owner: String? = nil, claimUntil: Int64? = nil
    ) {
        self.id = id
        self.terminalID = terminalID
        self.eid = eid
        self.smdpAddress = smdpAddress
        self.profileType = profileType
        self.matchingID = matchingID
        self.state = state
        self.attempt = attempt
        self.transactionID = transactionID
        self.iccid = iccid
        self.previousICCID = previousICCID
        self.roundTrips = roundTrips
        self.errorCode = errorCode
        self.errorText = errorText
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.owner = owner
        self.claimUntil = claimUntil
    }
}

/// A signed notification from an eUICC, kept until the SM-DP+ acknowledged it (delivered at least once;
/// the SM-DP+ treats repeats as the same notification) and the eUICC dropped it from its list.
public struct NotificationRecord: Codable, Sendable, Hashable {
    public var eid: String
    public var seqNumber: Int
    public var terminalID: String
    /// `install`, `enable`, `disable` or `delete`.
    public var event: String
    public var notificationAddress: String
    public var iccid: String?
    /// The `PendingNotification` exactly as the eUICC produced it, base64.
    public var payload: String
    public var jobID: String?
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var acknowledgedAt: Int64?
    /// Whether RemoveNotificationFromList succeeded on the eUICC.
    public var removedFromEUICC: Bool
    public var createdAt: Int64

    public init(
        eid: String, seqNumber: Int, terminalID: String, event: String, notificationAddress: String, iccid: String?,
        payload: String, jobID: String?, attempts: Int = 0, nextAttemptAt: Int64, lastError: String? = nil,
        acknowledgedAt: Int64? = nil, removedFromEUICC: Bool = false, createdAt: Int64
    ) {
        self.eid = eid
        self.seqNumber = seqNumber
        self.terminalID = terminalID
        self.event = event
        self.notificationAddress = notificationAddress
        self.iccid = iccid
        self.payload = payload
        self.jobID = jobID
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.acknowledgedAt = acknowledgedAt
        self.removedFromEUICC = removedFromEUICC
        self.createdAt = createdAt
    }
}
