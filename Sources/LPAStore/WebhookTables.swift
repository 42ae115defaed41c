import LPADomain

enum WebhookDeliveryTable: StoreTable {
    static let name = "webhook_deliveries"
    static let columns = ["id", "event_id", "event_type", "endpoint", "body", "state", "attempts", "next_attempt_at",
                          "last_status", "last_error", "created_at", "finished_at"]

    static func values(_ delivery: WebhookDelivery, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(delivery.id, "delivery id")
        try input.key(delivery.eventID, "event id of delivery \(delivery.id)")
        try input.key(delivery.eventType, "event type of delivery \(delivery.id)")
        try input.key(delivery.endpoint, "endpoint of delivery \(delivery.id)")
        try input.text(delivery.body, "body of delivery \(delivery.id)")
        try input.nonNegative(delivery.attempts, "attempts of delivery \(delivery.id)")
        try input.optionalText(delivery.lastError, "last error of delivery \(delivery.id)")
        return [
            .text(delivery.id), .text(delivery.eventID), .text(delivery.eventType), .text(delivery.endpoint), .text(delivery.body),
            .text(delivery.state.rawValue), .int(delivery.attempts), .integer(delivery.nextAttemptAt),
            delivery.lastStatus.map(SQLValue.int) ?? .null, .optionalText(delivery.lastError), .integer(delivery.createdAt),
            delivery.finishedAt.map(SQLValue.integer) ?? .null,
        ]
    }

    static func decode(_ row: inout RowReader) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row.readKey(0, "id"), eventID: try row.text(1, "event_id"), eventType: try row.text(2, "event_type"),
            endpoint: try row.text(3, "endpoint"), body: try row.text(4, "body"),
            state: try row.enumeration(WebhookDelivery.State.self, 5, "state"), attempts: try row.int(6, "attempts"),
            nextAttemptAt: try row.integer(7, "next_attempt_at"),
            lastStatus: try row.optionalInteger(8, "last_status").map { Int(truncatingIfNeeded: $0) },
            lastError: try row.optionalText(9, "last_error"), createdAt: try row.integer(10, "created_at"),
            finishedAt: try row.optionalInteger(11, "finished_at"))
    }
}
