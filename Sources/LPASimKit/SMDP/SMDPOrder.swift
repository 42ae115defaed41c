import Foundation

/// A download order of the simulated SM-DP+ (one profile, one ICCID), as ES2+ and ES9+ move it along:
///
/// ```
/// allocated ──confirmOrder(release)──▶ released ──authenticateClient──▶ downloading ──PIR ok──▶ installed
///     │        confirmOrder(hold) ▶ confirmed ─releaseProfile─┘  ▲            │ PIR error / cancelSession /
///     └── cancelOrder ──▶ available / unavailable                └────────────┘ failure after binding
/// ```
public struct SMDPOrder: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// Reserved by downloadOrder, not yet confirmed.
        case allocated
        /// Confirmed with `releaseFlag` false: waits for releaseProfile.
        case confirmed
        /// Downloadable.
        case released
        /// Bound to the RSP session with this transactionId.
        case downloading(transactionId: String)
        /// A successful ProfileInstallationResult was received.
        case installed
        /// Cancelled and returned to the inventory (`Available`): downloadOrder may reserve it again by ICCID.
        case available
        /// Cancelled for good (`Unavailable`).
        case unavailable

        var name: String {
            switch self {
            case .allocated: "allocated"
            case .confirmed: "confirmed"
            case .released: "released"
            case .downloading: "downloading"
            case .installed: "installed"
            case .available: "available"
            case .unavailable: "unavailable"
            }
        }
    }

    public let iccid: String
    public let profileType: String
    /// The EID the order is for; set by ES2+ or bound by the first eUICC that downloads it.
    public var eid: String?
    public var matchingId: String?
    public var state: State
    /// Downloads started (authenticateClient accepted) for this order.
    public var downloadAttempts = 0
    /// After this instant authenticateClient refuses the order (8.8.5 / 4.10).
    public var expiresAt: Date?

    /// The activation code `1$address$matchingId` of this order, when it has a matchingId.
    public func activationCode(smdpAddress: String) -> String? {
        matchingId.map { "1$\(smdpAddress)$\($0)" }
    }
}
