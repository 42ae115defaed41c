/// Which registered devices to list, and where to continue. Filters combine with AND; devices come
/// in terminal-id order, and `after` is the last terminal id of the previous page (a cursor).
public struct DeviceQuery: Sendable, Hashable {
    public var model: String?
    /// `online` or `offline`; a device never heard from counts as offline.
    public var presence: PresenceRecord.State?
    /// A tag the device must carry (exact, case-sensitive).
    public var tag: String?
    /// Name of the configuration rule chosen for the device.
    public var rule: String?
    /// State of the device's newest provisioning job.
    public var jobState: ProvisioningJob.State?
    public var after: String?
    public var limit: Int

    public init(model: String? = nil, presence: PresenceRecord.State? = nil, tag: String? = nil, rule: String? = nil,
                jobState: ProvisioningJob.State? = nil, after: String? = nil, limit: Int = 100) {
        self.model = model
        self.presence = presence
        self.tag = tag
        self.rule = rule
        self.jobState = jobState
        self.after = after
        self.limit = limit
    }
}

/// One device in a listing: its record with its presence and newest job state.
public struct DeviceSummary: Sendable, Hashable {
    public var device: DeviceRecord
    public var presence: PresenceRecord.State?
    public var lastSeen: Int64?
    public var latestJobState: ProvisioningJob.State?

    public init(device: DeviceRecord, presence: PresenceRecord.State?, lastSeen: Int64?, latestJobState: ProvisioningJob.State?) {
        self.device = device
        self.presence = presence
        self.lastSeen = lastSeen
        self.latestJobState = latestJobState
    }
}

/// A page of a listing; `next` is the cursor for the following page, nil on the last one.
public struct DevicePage: Sendable, Hashable {
    public var devices: [DeviceSummary]
    public var next: String?

    public init(devices: [DeviceSummary], next: String?) {
        self.devices = devices
        self.next = next
    }
}
