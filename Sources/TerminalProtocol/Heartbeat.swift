/// Terminal → server, every ``TerminalSettings/heartbeatIntervalSeconds`` (`serverlpa.terminal.v1.Heartbeat`).
///
/// The server answers each with a ``HeartbeatAck`` carrying the same ``seq``. This is the hot path of
/// the protocol: three varints, typically 8–12 bytes on the wire.
public struct Heartbeat: Sendable, Hashable {
    /// Sequence number chosen by the terminal; wraps at 2^32.
    public var seq: UInt32
    /// Seconds since the device booted (proto `uptime_s`).
    public var uptimeSeconds: UInt32
    /// Radio signal strength in dBm (proto `rssi_dbm`); 0 means unknown.
    public var rssiDBm: Int32

    public init(seq: UInt32 = 0, uptimeSeconds: UInt32 = 0, rssiDBm: Int32 = 0) {
        self.seq = seq
        self.uptimeSeconds = uptimeSeconds
        self.rssiDBm = rssiDBm
    }
}
