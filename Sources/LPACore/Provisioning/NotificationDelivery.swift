import LPADomain
import Logging

/// Delivers stored eUICC notifications to their SM-DP+ with ES9+ handleNotification: at least once, with
/// exponential backoff between attempts (the SM-DP+ treats a repeat as the same notification).
public enum NotificationDelivery {
    /// Seconds before retry `attempt` (1-based): 10 s doubling to one hour.
    public static func backoff(afterAttempt attempt: Int) -> Int64 {
        Int64(min(3600, 10 << min(max(attempt - 1, 0), 9)))
    }

    /// Sends `payload` for `record`; updates its attempt count, error and acknowledgement. Returns whether the
    /// SM-DP+ acknowledged it.
    public static func deliver(_ record: inout NotificationRecord, payload: [UInt8], es9: any ES9PlusDirectory,
                               now: Int64, logger: Logger) async -> Bool {
        record.attempts += 1
        do {
            let client = try es9.client(for: record.notificationAddress)
            try await client.handleNotification(pendingNotification: payload)
            record.acknowledgedAt = now
            record.lastError = nil
            logger.info("notification acknowledged", metadata: [
                "eid": "\(record.eid)", "seq": "\(record.seqNumber)", "event": "\(record.event)", "smdp": "\(record.notificationAddress)",
            ])
            return true
        } catch {
            record.lastError = String(describing: error).prefix(1000).description
            record.nextAttemptAt = now + backoff(afterAttempt: record.attempts)
            logger.notice("notification not delivered; retrying later", metadata: [
                "eid": "\(record.eid)", "seq": "\(record.seqNumber)", "attempt": "\(record.attempts)", "error": "\(error)",
            ])
            return false
        }
    }
}
