/// What ES2+.CancelOrder asks the SM-DP+ to do with the cancelled order's profile.
public enum FinalProfileStatusIndicator: String, Sendable, Equatable, Codable {
    /// The profile may be ordered again.
    case available = "Available"
    /// The profile is to be discarded.
    case unavailable = "Unavailable"
}
