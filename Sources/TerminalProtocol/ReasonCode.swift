/// Why a session was refused or ended: `serverlpa.terminal.v1.ReasonCode`.
///
/// Carried by ``Reject`` and ``Goodbye``. ``name`` (the proto's SCREAMING_CASE value name, e.g.
/// `UNSUPPORTED_VERSION`) is the project-wide error code: logs, metrics labels and the admin API
/// use exactly this string, so the same failure has the same code everywhere.
///
/// The proto enum is open: values this build does not know are kept as they are (``rawValue``) and
/// named `REASON_CODE_<n>`, so a newer peer's reason survives a round trip through this code.
public struct ReasonCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `REASON_UNSPECIFIED` (0): the sender gave no reason.
    public static let unspecified = ReasonCode(rawValue: 0)
    /// `UNSUPPORTED_VERSION` (1): `Hello.protocol_version` is not served.
    public static let unsupportedVersion = ReasonCode(rawValue: 1)
    /// `IDENTITY_MISMATCH` (2): the Hello identity differs from the client certificate.
    public static let identityMismatch = ReasonCode(rawValue: 2)
    /// `UNKNOWN_MODEL` (3): no device model matches the identity.
    public static let unknownModel = ReasonCode(rawValue: 3)
    /// `INVALID_FIELD` (4): an identity field fails the model's validation.
    public static let invalidField = ReasonCode(rawValue: 4)
    /// `MISSING_FIELD` (5): a required identity field is absent.
    public static let missingField = ReasonCode(rawValue: 5)
    /// `SERVER_BUSY` (6): connection cap reached; retry later.
    public static let serverBusy = ReasonCode(rawValue: 6)
    /// `RATE_LIMITED` (7): too many handshakes from this address.
    public static let rateLimited = ReasonCode(rawValue: 7)
    /// `PROTOCOL_VIOLATION` (8): unexpected message or malformed frame.
    public static let protocolViolation = ReasonCode(rawValue: 8)
    /// `SHUTTING_DOWN` (9): the server is draining; reconnect elsewhere.
    public static let shuttingDown = ReasonCode(rawValue: 9)
    /// `HEARTBEAT_TIMEOUT` (10): the terminal was silent for too long.
    public static let heartbeatTimeout = ReasonCode(rawValue: 10)
    /// `DUPLICATE_SESSION` (11): a newer session of the same terminal replaced this one.
    public static let duplicateSession = ReasonCode(rawValue: 11)
    /// `ADMIN_DISCONNECT` (12): an operator closed the session.
    public static let adminDisconnect = ReasonCode(rawValue: 12)
    /// `CORE_UNAVAILABLE` (13): the edge cannot reach lpa-core.
    public static let coreUnavailable = ReasonCode(rawValue: 13)
    /// `DEVICE_RESTART` (14): terminal side, the device is restarting.
    public static let deviceRestart = ReasonCode(rawValue: 14)
    /// `PROFILE_SWITCH` (15): terminal side, reconnecting on a new profile.
    public static let profileSwitch = ReasonCode(rawValue: 15)

    /// Every value declared in `proto/terminal.proto`, in proto order.
    public static let allKnown: [ReasonCode] = (0...15).map { ReasonCode(rawValue: $0) }

    private static let knownNames: [String] = [
        "REASON_UNSPECIFIED",
        "UNSUPPORTED_VERSION",
        "IDENTITY_MISMATCH",
        "UNKNOWN_MODEL",
        "INVALID_FIELD",
        "MISSING_FIELD",
        "SERVER_BUSY",
        "RATE_LIMITED",
        "PROTOCOL_VIOLATION",
        "SHUTTING_DOWN",
        "HEARTBEAT_TIMEOUT",
        "DUPLICATE_SESSION",
        "ADMIN_DISCONNECT",
        "CORE_UNAVAILABLE",
        "DEVICE_RESTART",
        "PROFILE_SWITCH",
    ]

    /// True when this build declares the value.
    public var isKnown: Bool {
        Self.knownNames.indices.contains(Int(rawValue))
    }

    /// The proto value name (`SERVER_BUSY`), or `REASON_CODE_<n>` for a value this build does not know.
    public var name: String {
        isKnown ? Self.knownNames[Int(rawValue)] : "REASON_CODE_\(rawValue)"
    }

    /// Parses a ``name`` back into a code, including the `REASON_CODE_<n>` form; nil for anything else.
    public init?(name: String) {
        if let index = Self.knownNames.firstIndex(of: name) {
            self.init(rawValue: Int32(index))
            return
        }
        let prefix = "REASON_CODE_"
        guard name.hasPrefix(prefix), let value = Int32(name.dropFirst(prefix.count)) else { return nil }
        let code = ReasonCode(rawValue: value)
        guard code.name == name else { return nil }
        self = code
    }

    public var description: String { name }
}
