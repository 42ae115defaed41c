/// Server → terminal: the settings a terminal runs with (`serverlpa.terminal.v1.Settings`).
///
/// Sent inside ``Welcome`` and on its own (``TerminalFrame/settings(_:)``) at any time after; the
/// latest one wins. They come from the core's count-setting table for the terminal's model.
public struct TerminalSettings: Sendable, Hashable {
    /// Seconds between heartbeats (proto `heartbeat_interval_s`); 0 means keep the current interval.
    public var heartbeatIntervalSeconds: UInt32
    /// How many heartbeat history entries the server keeps for this terminal.
    public var historyLimit: UInt32
    /// Increases with every change, so a terminal can ignore a stale copy.
    public var version: UInt32

    public init(heartbeatIntervalSeconds: UInt32 = 0, historyLimit: UInt32 = 0, version: UInt32 = 0) {
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.historyLimit = historyLimit
        self.version = version
    }
}
