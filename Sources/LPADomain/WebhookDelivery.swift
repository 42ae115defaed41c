/// One event on its way to one webhook endpoint: a row of the core's durable webhook outbox.
///
/// The body is fixed when the event is published, so every attempt sends the same bytes; the signature is made
/// at send time with the endpoint's secret, which the store never holds.
public struct WebhookDelivery: Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        /// Waiting for its first or next attempt.
        case pending
        /// The endpoint answered 2xx.
        case delivered
        /// Every allowed attempt failed, or the endpoint is no longer configured.
        case dead
    }

    /// Sent as `X-ServerLPA-Delivery`; the same on every attempt, so receivers can drop duplicates.
    public var id: String
    /// The event's id (one event has one delivery per matching endpoint).
    public var eventID: String
    /// Sent as `X-ServerLPA-Event`, e.g. `job.created`.
    public var eventType: String
    /// The configured endpoint's name.
    public var endpoint: String
    /// The JSON body sent.
    public var body: String
    public var state: State
    /// Attempts made so far.
    public var attempts: Int
    /// When the next attempt is due (seconds since 1970); a claim pushes it forward while an attempt runs.
    public var nextAttemptAt: Int64
    /// HTTP status of the last attempt, when one was received.
    public var lastStatus: Int?
    /// Why the last attempt failed.
    public var lastError: String?
    public var createdAt: Int64
    /// When it was delivered or given up.
    public var finishedAt: Int64?

    public init(id: String, eventID: String, eventType: String, endpoint: String, body: String, state: State = .pending,
                attempts: Int = 0, nextAttemptAt: Int64, lastStatus: Int? = nil, lastError: String? = nil,
                createdAt: Int64, finishedAt: Int64? = nil) {
        self.id = id
        self.eventID = eventID
        self.eventType = eventType
        self.endpoint = endpoint
        self.body = body
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}
