/// How much per-event history the store keeps: what grows by a row per reconnect, presence change,
/// download or webhook event. Applied by ``Store/trimHistory(_:now:)``, which the core's sweep calls.
/// A limit of 0 keeps everything of that kind.
public struct RetentionPolicy: Sendable, Equatable {
    /// Newest registration attempts kept per terminal …
    public var registrationAttemptsPerTerminal: Int
    /// … and none older than this many seconds.
    public var registrationAttemptMaxAgeSeconds: Int64
    /// Newest online/offline changes kept per terminal …
    public var presenceChangesPerTerminal: Int
    /// … and none older than this many seconds.
    public var presenceChangeMaxAgeSeconds: Int64
    /// Finished provisioning jobs (confirmed, failed, timed out, cancelled) are removed this long after
    /// their last change; active jobs are never removed.
    public var finishedJobMaxAgeSeconds: Int64
    /// Finished webhook deliveries (delivered or dead) are removed this long after they finished.
    public var finishedWebhookDeliveryMaxAgeSeconds: Int64

    public init(registrationAttemptsPerTerminal: Int = 100, registrationAttemptMaxAgeSeconds: Int64 = 30 * 86_400,
                presenceChangesPerTerminal: Int = 100, presenceChangeMaxAgeSeconds: Int64 = 30 * 86_400,
                finishedJobMaxAgeSeconds: Int64 = 365 * 86_400, finishedWebhookDeliveryMaxAgeSeconds: Int64 = 30 * 86_400) {
        self.registrationAttemptsPerTerminal = registrationAttemptsPerTerminal
        self.registrationAttemptMaxAgeSeconds = registrationAttemptMaxAgeSeconds
        self.presenceChangesPerTerminal = presenceChangesPerTerminal
        self.presenceChangeMaxAgeSeconds = presenceChangeMaxAgeSeconds
        self.finishedJobMaxAgeSeconds = finishedJobMaxAgeSeconds
        self.finishedWebhookDeliveryMaxAgeSeconds = finishedWebhookDeliveryMaxAgeSeconds
    }
}

/// Rows ``Store/trimHistory(_:now:)`` removed, per kind.
public struct RetentionTrim: Sendable, Equatable {
    public var registrationAttempts = 0
    public var presenceChanges = 0
    public var jobs = 0
    public var webhookDeliveries = 0

    public init() {}

    /// All rows removed.
    public var total: Int { registrationAttempts + presenceChanges + jobs + webhookDeliveries }
}
