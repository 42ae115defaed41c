import Foundation
import LPADomain

// The webhook outbox, written once for both backends like the rest of ``SQLStore``.
extension SQLStore {
    public func addWebhookDeliveries(_ deliveries: [WebhookDelivery]) async throws {
        let input = StoreInput(operation: "addWebhookDeliveries")
        for delivery in deliveries where delivery.state != .pending {
            throw input.invalid("new delivery '\(delivery.id)' must be pending, is \(delivery.state.rawValue)")
        }
        let sorted = deliveries.sorted { $0.id < $1.id }
        try await write(input, WebhookDeliveryTable.insert(sorted, input, suffix: "ON CONFLICT (id) DO NOTHING"))
    }

    public func claimWebhookDeliveries(now: Int64, leaseUntil: Int64, limit: Int) async throws -> [WebhookDelivery] {
        let input = StoreInput(operation: "claimWebhookDeliveries")
        try input.nonNegative(limit, "limit")
        guard leaseUntil > now else { throw input.invalid("leaseUntil (\(leaseUntil)) must be after now (\(now))") }
        // The outer conditions repeat the inner ones: a row another core claimed while this statement waited
        // for its lock no longer matches and is skipped.
        let token = UUID().uuidString
        let pending = SQLValue.text(WebhookDelivery.State.pending.rawValue)
        let claimed = try await write(input, [SQLStatement("""
            UPDATE webhook_deliveries SET next_attempt_at = $2, claim_token = $3
            WHERE state = $5 AND next_attempt_at <= $1 AND id IN (
                SELECT id FROM webhook_deliveries WHERE state = $5 AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $4
            ) RETURNING id
            """, [.integer(now), .integer(leaseUntil), .text(token), .int(limit), pending])])
        guard claimed[0] > 0 else { return [] }
        return try await executor.read(input.operation, WebhookDeliveryTable.select(
            "WHERE claim_token = $1 AND state = $2 ORDER BY created_at, id", [.text(token), pending]))
    }

    public func saveWebhookDelivery(_ delivery: WebhookDelivery) async throws {
        let input = StoreInput(operation: "saveWebhookDelivery")
        let values = try WebhookDeliveryTable.values(delivery, input)
        let assignments = WebhookDeliveryTable.columns.enumerated().dropFirst().map { "\($0.element) = $\($0.offset + 1)" }
        let updated = try await write(input, [SQLStatement(
            "UPDATE webhook_deliveries SET \(assignments.joined(separator: ", ")) WHERE id = $1 AND state = $\(values.count + 1) RETURNING id",
            values + [.text(WebhookDelivery.State.pending.rawValue)])])
        if updated[0] == 0 { throw input.invalid("delivery '\(delivery.id)' is unknown or no longer pending") }
    }

    public func webhookDeliveries(eventID: String) async throws -> [WebhookDelivery] {
        let input = StoreInput(operation: "webhookDeliveries")
        try input.key(eventID, "event id")
        return try await executor.read(input.operation, WebhookDeliveryTable.select("WHERE event_id = $1 ORDER BY endpoint, id", [.text(eventID)]))
    }

    public func webhookDeliveryCounts() async throws -> [WebhookDelivery.State: Int] {
        let rows = try await executor.read("webhookDeliveryCounts", SQLQuery(table: WebhookDeliveryTable.name,
            "SELECT state, count(*) FROM webhook_deliveries GROUP BY state") {
            (try $0.enumeration(WebhookDelivery.State.self, 0, "state"), try $0.int(1, "count"))
        })
        return Dictionary(rows, uniquingKeysWith: +)
    }
}
