import NIOCore

/// Exponential back-off with jitter between reconnection attempts.
///
/// Attempt `n` (from 0) waits a random time between `(1 - jitter)` and `(1 + jitter)` times
/// `min(initial × multiplier^n, maximum)`, so that many edges that lost the same core do not all
/// return at the same instant.
public struct RPCBackoff: Sendable, Hashable {
    public var initial: TimeAmount
    public var maximum: TimeAmount
    public var multiplier: Double
    /// Relative spread, 0 (none) … 1.
    public var jitter: Double

    public init(initial: TimeAmount = .milliseconds(100), maximum: TimeAmount = .seconds(10), multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before attempt `attempt` (0 = the first retry).
    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> TimeAmount {
        let cap = Double(maximum.nanoseconds)
        var base = Double(initial.nanoseconds)
        var step = 0
        while step < attempt, base < cap {
            base *= multiplier
            step += 1
        }
        let capped = min(base, cap)
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &generator) : 1
        return .nanoseconds(Int64(max(0, capped * factor)))
    }

    /// The delay before attempt `attempt`, with the system's random numbers.
    public func delay(attempt: Int) -> TimeAmount {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
