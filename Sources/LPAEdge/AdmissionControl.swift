import NIOConcurrencyHelpers
import NIOCore

/// Decides, before any TLS work, whether a new connection may proceed: a cap on open connections
/// and a token bucket of new connections per remote address. Thread-safe; shared by all accepting
/// event loops.
public final class AdmissionControl: Sendable {
    public enum Verdict: Equatable, Sendable {
        case admit
        case refuse(limit: String)
    }

    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    private struct State {
        var open = 0
        var buckets: [String: Bucket] = [:]
    }

    private let maxConnections: Int
    private let ratePerSecond: Double
    private let burst: Double
    private let state = NIOLockedValueBox(State())
    /// Buckets kept before full ones are forgotten.
    private let bucketTableLimit = 100_000

    public init(maxConnections: Int, handshakesPerSecondPerAddress: Double, burstPerAddress: Double) {
        self.maxConnections = maxConnections
        self.ratePerSecond = max(0.001, handshakesPerSecondPerAddress)
        self.burst = max(1, burstPerAddress)
    }

    /// Connections currently admitted and not yet closed.
    public var openConnections: Int { state.withLockedValue { $0.open } }

    /// Admits or refuses a connection from `address` at `now`. An admitted connection must be
    /// released with ``release()`` when it closes.
    public func admit(address: String, now: NIODeadline = .now()) -> Verdict {
        state.withLockedValue { s in
            guard s.open < maxConnections else { return .refuse(limit: "max_connections") }
            var bucket = s.buckets[address] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * ratePerSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                s.buckets[address] = bucket
                return .refuse(limit: "handshake_rate")
            }
            bucket.tokens -= 1
            if s.buckets.count >= bucketTableLimit, s.buckets[address] == nil {
                Self.prune(&s.buckets, now: now, rate: ratePerSecond, burst: burst)
            }
            s.buckets[address] = bucket
            s.open += 1
            return .admit
        }
    }

    /// Releases one admitted connection.
    public func release() {
        state.withLockedValue { $0.open = max(0, $0.open - 1) }
    }

    private static func prune(_ buckets: inout [String: Bucket], now: NIODeadline, rate: Double, burst: Double) {
        buckets = buckets.filter { _, b in
            b.tokens + Double((now - b.updated).nanoseconds) / 1e9 * rate < burst
        }
    }
}

/// First handler of every accepted connection: asks ``AdmissionControl`` and closes refused
/// connections at once, before the TLS handshake spends any CPU. An admitted connection is
/// released when it closes; the handler leaves the pipeline as soon as it admitted, so reads
/// and writes do not pass through it.
final class AdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let control: AdmissionControl
    private let metrics: EdgeMetrics

    init(control: AdmissionControl, metrics: EdgeMetrics) {
        self.control = control
        self.metrics = metrics
    }

    func channelActive(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        switch control.admit(address: address) {
        case .admit:
            metrics.connectionsOpen.increment()
            let control = self.control
            let metrics = self.metrics
            context.channel.closeFuture.whenComplete { _ in
                control.release()
                metrics.connectionsOpen.decrement()
            }
            context.fireChannelActive()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .refuse(let limit):
            metrics.refused(limit: limit)
            context.close(promise: nil)
        }
    }

    // Only a refused connection, closing, still has this handler: the handlers above never saw it
    // become active, so they see neither its data nor its end.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {}
}
