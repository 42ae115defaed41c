/// The count-setting table of one device model (claim 4): bands of heartbeat counts per window,
/// each naming the heartbeat interval and history storage limit a terminal gets while its count
/// falls in the band.
public struct CountSettingTable: Codable, Sendable, Hashable {
    public var model: String
    /// Bands ordered by `minimumCount`; they must not overlap.
    public var bands: [CountBand]

    public init(model: String, bands: [CountBand]) {
        self.model = model
        self.bands = bands.sorted { $0.minimumCount < $1.minimumCount }
    }

    /// The band a window's `count` falls in, if any.
    public func band(for count: Int) -> CountBand? {
        bands.last { count >= $0.minimumCount && ($0.maximumCount.map { count <= $0 } ?? true) }
    }

    /// Why the bands are inconsistent, or nil.
    public func problem() -> String? {
        let sorted = bands.sorted { $0.minimumCount < $1.minimumCount }
        for band in sorted {
            if band.minimumCount < 0 { return "band minimumCount \(band.minimumCount) is negative" }
            if let max = band.maximumCount, max < band.minimumCount {
                return "band \(band.minimumCount)–\(max) is empty"
            }
            if band.heartbeatIntervalSeconds <= 0 { return "band from \(band.minimumCount): heartbeatIntervalSeconds must be positive" }
            if band.historyLimit <= 0 { return "band from \(band.minimumCount): historyLimit must be positive" }
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard let aMax = a.maximumCount else { return "band from \(a.minimumCount) is open-ended but another band follows" }
            if b.minimumCount <= aMax { return "bands from \(a.minimumCount) and \(b.minimumCount) overlap" }
        }
        return nil
    }
}

/// Heartbeat counts `minimumCount...maximumCount` (open-ended when no maximum) in one window map
/// to these settings.
public struct CountBand: Codable, Sendable, Hashable {
    public var minimumCount: Int
    public var maximumCount: Int?
    public var heartbeatIntervalSeconds: Int
    public var historyLimit: Int

    public init(minimumCount: Int, maximumCount: Int?, heartbeatIntervalSeconds: Int, historyLimit: Int) {
        self.minimumCount = minimumCount
        self.maximumCount = maximumCount
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.historyLimit = historyLimit
    }
}
