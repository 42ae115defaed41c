/// The functions of the simulated SM-DP+, for fault injection and call counting.
public enum SMDPFunction: String, Sendable, Hashable, CaseIterable, Codable {
    // ES2+
    case downloadOrder, confirmOrder, cancelOrder, releaseProfile
    // ES9+
    case initiateAuthentication, authenticateClient, getBoundProfilePackage, handleNotification, cancelSession
}

/// Faults the simulated SM-DP+ injects, for negative and resilience tests. A plain value; set it with
/// `SMDPSimulator.setFaults(_:)` or adjust one knob with `failNext(_:of:with:)`.
public struct SMDPFaults: Sendable {
    /// Delay before each function is handled.
    public var latency: [SMDPFunction: Duration] = [:]
    /// Probability (0…1) that a call fails with `randomFailure`, per function.
    public var failureRate: [SMDPFunction: Double] = [:]
    /// What a random failure answers (an execution error by default).
    public var randomFailure = SMDPError.failed("8.1", "4.2", "injected failure")
    /// Calls still to fail, per function, and with what (consumed first in, first out).
    public var scriptedFailures: [SMDPFunction: [SMDPError]] = [:]
    /// Flip a byte of the first `86` segment after it was MACed, so the eUICC's verification fails.
    public var corruptsBoundProfilePackage = false

    public init() {}

    /// Whether nothing is injected.
    public var isEmpty: Bool {
        latency.isEmpty && failureRate.isEmpty && scriptedFailures.values.allSatisfy(\.isEmpty) && !corruptsBoundProfilePackage
    }
}
