/// The radio link a simulated terminal sits behind: added delay on every answer to the server, limited
/// bandwidth, and the chance that a long exchange loses the connection.
///
/// Round trips on NB-IoT take seconds; LTE-M hundreds of milliseconds. The profiles below are typical
/// figures for a device in good coverage, not measurements of a network.
public struct LinkProfile: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    /// Round-trip latency added to each answer, milliseconds.
    public var latencyMilliseconds: Double
    /// Uniform jitter around the latency, ± milliseconds.
    public var jitterMilliseconds: Double
    /// Bytes per second in each direction; 0 = unlimited.
    public var bytesPerSecond: Double
    /// Probability that the connection drops while an APDU batch is on the air.
    public var dropProbability: Double

    public init(name: String, latencyMilliseconds: Double, jitterMilliseconds: Double, bytesPerSecond: Double, dropProbability: Double) {
        self.name = name
        self.latencyMilliseconds = latencyMilliseconds
        self.jitterMilliseconds = jitterMilliseconds
        self.bytesPerSecond = bytesPerSecond
        self.dropProbability = dropProbability
    }

    /// Loopback: no added delay.
    public static let none = LinkProfile(name: "none", latencyMilliseconds: 0, jitterMilliseconds: 0, bytesPerSecond: 0, dropProbability: 0)
    /// LTE-M (Cat-M1): ~150 ms round trip, ~40 KB/s.
    public static let lteM = LinkProfile(name: "lte-m", latencyMilliseconds: 150, jitterMilliseconds: 50, bytesPerSecond: 40_000, dropProbability: 0)
    /// NB-IoT (Cat-NB1): ~1.6 s round trip, ~3 KB/s.
    public static let nbIoT = LinkProfile(name: "nb-iot", latencyMilliseconds: 1600, jitterMilliseconds: 600, bytesPerSecond: 3_000, dropProbability: 0)
    /// NB-IoT in poor coverage: slower, and 2 % of batches lose the connection.
    public static let nbIoTPoor = LinkProfile(name: "nb-iot-poor", latencyMilliseconds: 4000, jitterMilliseconds: 2000, bytesPerSecond: 1_000, dropProbability: 0.02)

    public static let all: [LinkProfile] = [.none, .lteM, .nbIoT, .nbIoTPoor]

    public static func named(_ name: String) -> LinkProfile? { all.first { $0.name == name } }

    /// The delay before an answer of `bytes` (request and answer sizes together) reaches the server, seconds.
    public func delaySeconds(bytes: Int) -> Double {
        let jitter = jitterMilliseconds > 0 ? Double.random(in: -jitterMilliseconds...jitterMilliseconds) : 0
        let air = bytesPerSecond > 0 ? Double(bytes) / bytesPerSecond : 0
        return max(0, (latencyMilliseconds + jitter) / 1000 + air)
    }

    /// Whether this exchange loses the connection.
    public func drops() -> Bool {
        dropProbability > 0 && Double.random(in: 0..<1) < dropProbability
    }

    public var description: String {
        name == "none" ? "none" : "\(name) (\(Int(latencyMilliseconds)) ms ± \(Int(jitterMilliseconds)), \(Int(bytesPerSecond)) B/s, drop \(dropProbability))"
    }
}
