import LPADomain

/// Applies the count-setting tables (claim 4): the heartbeat count of a closed window picks a band
/// of the device model's table, and the band's interval and history limit become the terminal's.
public struct CountSettingPolicy: Sendable {
    public let tables: [String: CountSettingTable]

    public init(_ tables: [CountSettingTable]) {
        self.tables = Dictionary(tables.map { ($0.model, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The settings a terminal of `model` should have after a window with `count` heartbeats, or nil
    /// when its model has no table or no band covers the count.
    public func settings(model: String, count: Int) -> (heartbeatIntervalSeconds: Int, historyLimit: Int)? {
        guard let band = tables[model]?.band(for: count) else { return nil }
        return (band.heartbeatIntervalSeconds, band.historyLimit)
    }
}
