import LPATLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs a fleet of ``SimulatedTerminal``s against an edge: ramps connections up at the configured
/// rate, keeps every terminal connected (reconnecting with backoff), and exposes live counters.
public final class FleetSimulator: Sendable {
    public let statistics: FleetStatistics
    private let terminals: [SimulatedTerminal]
    private let behaviour: FleetBehaviour
    private let group: EventLoopGroup
    private let rampTask = NIOLockedValueBox<RepeatedTask?>(nil)

    /// - Parameters:
    ///   - devices: one entry per terminal.
    ///   - cardFactory: makes each terminal's card (the placeholder card by default).
    public init(
        target: FleetTarget,
        devices: [SimulatedDevice],
        behaviour: FleetBehaviour = FleetBehaviour(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        statistics: FleetStatistics = FleetStatistics(),
        cardFactory: @Sendable (SimulatedDevice) -> SimulatedCard = { _ in PlaceholderCard() }
    ) throws {
        var tls = TLSConfiguration.client(trustRoots: target.trustRoots)
        tls.handshakeTimeout = .nanoseconds(Int64(behaviour.handshakeTimeoutSeconds * 1e9))
        let context = try TLSContext(configuration: tls)
        let cache = TLSClientSessionCache(capacity: max(1024, devices.count))
        self.statistics = statistics
        self.behaviour = behaviour
        self.group = group
        var terminals: [SimulatedTerminal] = []
        terminals.reserveCapacity(devices.count)
        for (index, device) in devices.enumerated() {
            let source = behaviour.sourceAddresses.isEmpty ? nil : behaviour.sourceAddresses[index % behaviour.sourceAddresses.count]
            terminals.append(SimulatedTerminal(
                device: device, eventLoop: group.next(), target: target, behaviour: behaviour,
                context: context, sessionCache: cache, statistics: statistics,
                card: cardFactory(device), sourceAddress: source))
        }
        self.terminals = terminals
    }

    public var count: Int { terminals.count }

    /// Starts connecting terminals, `connectRatePerSecond` at a time (in 10 ms steps).
    public func start() {
        let perTick = max(1, Int((behaviour.connectRatePerSecond / 100).rounded(.up)))
        let next = NIOLockedValueBox(0)
        let terminals = self.terminals
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { task in
            let range = next.withLockedValue { n -> Range<Int> in
                let r = n..<min(n + perTick, terminals.count)
                n = r.upperBound
                return r
            }
            for i in range { terminals[i].start() }
            if range.upperBound >= terminals.count { task.cancel() }
        }
        rampTask.withLockedValue { $0 = task }
    }

    /// Stops every terminal (no reconnects) and waits for their connections to close.
    public func stop() async {
        rampTask.withLockedValue { $0?.cancel() }
        let futures = terminals.map { $0.stop() }
        for f in futures { try? await f.get() }
    }
}
