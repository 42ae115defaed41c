import Foundation
import LPADomain
import LPAStore
import Logging
import RSP

/// Collects the signed notifications an eUICC holds (enable/disable/delete, and installation results of
/// earlier attempts), delivers them to their SM-DP+ and removes the acknowledged ones from the eUICC's list:
/// a channel, one batch to read, the ES9+ deliveries, one batch to remove, the close.
struct NotificationSweep {
    let store: any Store
    let es9: any ES9PlusDirectory
    let blockSize: Int
    let clock: @Sendable () -> Int64
    let logger: Logger

    /// Returns the number of notifications removed from the eUICC.
    func run(terminalID: String, eid: String, link: any EUICCLink) async throws -> Int {
        let channel = try await link.openChannel(aid: ISDR.aid)
        defer { Task { try? await link.closeChannel(channel) } }
        var read = ES10Batch(channel: channel, blockSize: blockSize)
        try read.append(NotificationCommands.retrieveRequest(), name: "RetrieveNotificationsList")
        let result = try await link.transmit(read.apdus, channel: channel)
        guard let data = read.outcomes(result.responses)[0].data else { return 0 }
        let pending = try NotificationCommands.parseRetrieve(data)
        let now = clock()
        try await store.addNotifications(pending.map { notification in
            let metadata = notification.metadata
            return NotificationRecord(
                eid: eid, seqNumber: metadata.seqNumber, terminalID: terminalID, event: "\(metadata.event)",
                notificationAddress: metadata.notificationAddress, iccid: metadata.iccid,
                payload: Data(notification.encoded).base64EncodedString(), jobID: nil, nextAttemptAt: now, createdAt: now)
        })
        var toRemove: [Int] = []
        let onCard = Set(pending.map(\.metadata.seqNumber))
        for var record in try await store.notifications(eid: eid) where !record.removedFromEUICC {
            if !onCard.contains(record.seqNumber) {
                // Already gone from the eUICC (removed by an earlier sweep whose answer was lost).
                if record.acknowledgedAt != nil {
                    record.removedFromEUICC = true
                    try await store.saveNotification(record)
                }
                continue
            }
            if record.acknowledgedAt == nil, let payload = Data(base64Encoded: record.payload) {
                _ = await NotificationDelivery.deliver(&record, payload: Array(payload), es9: es9, now: now, logger: logger)
                try await store.saveNotification(record)
            }
            if record.acknowledgedAt != nil { toRemove.append(record.seqNumber) }
        }
        guard !toRemove.isEmpty else { return 0 }
        var remove = ES10Batch(channel: channel, blockSize: blockSize)
        for seq in toRemove { try remove.append(NotificationCommands.removeRequest(seqNumber: seq), name: "RemoveNotificationFromList") }
        let removal = try await link.transmit(remove.apdus, channel: channel)
        var removed = 0
        for (seq, outcome) in zip(toRemove, remove.outcomes(removal.responses)) {
            guard let data = outcome.data, let status = try? NotificationCommands.parseRemove(data), status == 0 || status == 1 else { continue }
            if var record = try await store.notifications(eid: eid).first(where: { $0.seqNumber == seq }) {
                record.removedFromEUICC = true
                try await store.saveNotification(record)
                removed += 1
            }
        }
        return removed
    }
}
