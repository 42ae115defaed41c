import LPADomain

/// `GET /v1/devices`: one page and the cursor of the next.
struct DeviceListing: Encodable {
    struct Item: Encodable {
        var terminalID: String
        var eid: String?
        /// The ICCID the device last reported (its enabled profile).
        var iccid: String?
        var model: String
        var tags: [String]
        var ruleName: String?
        var presence: PresenceRecord.State?
        var lastSeen: Int64?
        var latestJobState: ProvisioningJob.State?
        var heartbeatIntervalSeconds: Int
        var lastRegistered: Int64
    }

    var devices: [Item]
    var next: String?

    init(_ page: DevicePage) {
        devices = page.devices.map {
            Item(terminalID: $0.device.terminalID, eid: $0.device.fields["eid"], iccid: $0.device.fields["iccid"], model: $0.device.model, tags: $0.device.tags, ruleName: $0.device.ruleName,
                 presence: $0.presence, lastSeen: $0.lastSeen, latestJobState: $0.latestJobState,
                 heartbeatIntervalSeconds: $0.device.heartbeatIntervalSeconds, lastRegistered: $0.device.lastRegistered)
        }
        next = page.next
    }
}

/// `GET /v1/devices/{terminalID}`: everything the core keeps about one device, newest first.
struct DeviceDetail: Encodable {
    var device: DeviceRecord
    var presence: PresenceRecord?
    var presenceChanges: [PresenceChange]
    var heartbeats: [HeartbeatWindow]
    var registrationAttempts: [RegistrationAttempt]
    var jobs: [ProvisioningJob]
    var notifications: [NotificationRecord]
    var fleetEntry: FleetEntry?
}

/// `GET /v1/fleet/entries`.
struct FleetEntryPage: Encodable {
    var entries: [FleetEntry]
    var next: String?
}
