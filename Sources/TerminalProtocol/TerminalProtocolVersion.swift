/// Versions of the terminal protocol.
///
/// A terminal states its version in ``Hello/protocolVersion``; a server that does not serve it answers
/// ``Reject`` with ``ReasonCode/unsupportedVersion`` and closes. ``Welcome/protocolVersion`` echoes the
/// version the session runs. Additions that old peers can ignore (new fields in existing messages,
/// new enum values) keep the version; a new message kind or a change of meaning needs a new one.
public enum TerminalProtocolVersion {
    /// The version this build speaks: 1.
    public static let current: UInt32 = 1
}

/// The version this build speaks; the same value as ``TerminalProtocolVersion/current``.
public let protocolVersion: UInt32 = TerminalProtocolVersion.current
