/// What the simulated SM-DP+ has done so far, for tests, the demo and `lpa-sim` output. A snapshot value.
public struct SMDPStatistics: Sendable, Equatable {
    /// Calls received, per function (failed ones included).
    public var calls: [SMDPFunction: Int] = [:]
    /// RSP sessions opened by initiateAuthentication.
    public var sessionsStarted = 0
    /// Sessions that reached a Bound Profile Package.
    public var sessionsCompleted = 0
    /// Sessions ended by a refusal, by `subjectCode/reasonCode`; cancelled sessions count under
    /// `cancelled/<reason>`, expired ones under `expired`.
    public var sessionsFailed: [String: Int] = [:]
    /// Successful ProfileInstallationResults received.
    public var installsConfirmed = 0
    /// ProfileInstallationResults reporting an error.
    public var installsFailed = 0
    /// Verified notifications received, by event (`install`, `enable`, `disable`, `delete`); repeats not counted.
    public var notificationsReceived: [String: Int] = [:]
    /// Notifications received again (already handled; acknowledged without effect).
    public var notificationsRepeated = 0
    /// Notifications refused, by reason (`signature`, `certificate`, `unknownTransaction`).
    public var notificationsRejected: [String: Int] = [:]
    /// ES2+ orders made (downloadOrder, bulk and automatic).
    public var ordersCreated = 0

    public init() {}

    /// Sessions that ended in failure, all reasons together.
    public var sessionsFailedTotal: Int { sessionsFailed.values.reduce(0, +) }
}
