import NIOCore

/// The instant by which a call must complete, on the monotonic clock.
///
/// On the wire a deadline travels as the milliseconds remaining when the REQUEST frame is written
/// (so the two hosts need no synchronised clocks); the callee turns it back into a deadline on its
/// own clock when the frame arrives.
public struct RPCDeadline: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The same instant as a NIO deadline, for scheduling timers.
    public let nioDeadline: NIODeadline

    public init(_ deadline: NIODeadline) {
        self.nioDeadline = deadline
    }

    /// The deadline `timeout` from now.
    public static func after(_ timeout: TimeAmount) -> RPCDeadline {
        RPCDeadline(.now() + timeout)
    }

    /// The deadline `duration` from now.
    public static func after(duration: Duration) -> RPCDeadline {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow else { return RPCDeadline(seconds < 0 ? .uptimeNanoseconds(0) : .distantFuture) }
        return .after(.nanoseconds(nanoseconds.partialValue &+ attoseconds / 1_000_000_000))
    }

    /// Time left until the deadline; negative once it has passed.
    public func remaining(now: NIODeadline = .now()) -> TimeAmount {
        nioDeadline - now
    }

    /// Milliseconds remaining as sent in a REQUEST frame: at least 1 while time remains (so that a
    /// sub-millisecond remainder does not read as "no deadline"), at most `UInt32.max`; nil once the
    /// deadline has passed.
    func wireMilliseconds(now: NIODeadline = .now()) -> UInt32? {
        let remaining = remaining(now: now).nanoseconds
        guard remaining > 0 else { return nil }
        let milliseconds = (remaining + 999_999) / 1_000_000
        return UInt32(clamping: milliseconds)
    }

    /// The deadline a callee derives from a REQUEST frame's `deadline` field; nil for 0 (none).
    static func fromWire(milliseconds: UInt32, receivedAt now: NIODeadline = .now()) -> RPCDeadline? {
        guard milliseconds > 0 else { return nil }
        return RPCDeadline(now + .milliseconds(Int64(milliseconds)))
    }

    public static func < (lhs: RPCDeadline, rhs: RPCDeadline) -> Bool {
        lhs.nioDeadline < rhs.nioDeadline
    }

    public var description: String {
        let ms = remaining().nanoseconds / 1_000_000
        return "RPCDeadline(in \(ms) ms)"
    }
}
