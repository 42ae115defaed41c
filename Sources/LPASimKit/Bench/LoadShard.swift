import LPATLS
import NIOCore
import NIOPosix

/// Where and how benchmark connections connect. Shared by every shard of a run.
public struct LoadTarget: Sendable {
    /// The server under test.
    public var address: SocketAddress
    /// Name checked against the server certificate (and sent as SNI).
    public var serverName: String
    /// Local addresses connections are spread over (connection `i` uses `i % count`); empty lets
    /// the OS choose.
    public var sourceAddresses: [SocketAddress]
    public var connectTimeout: TimeAmount
    /// One client context for all connections; each connection adds its own device credentials.
    public var tls: TLSContext
    /// Where connections keep their TLS sessions (one per device) to resume on reconnect; nil: every
    /// handshake is a full one.
    public var sessionCache: TLSClientSessionCache?

    public init(address: SocketAddress, serverName: String, sourceAddresses: [SocketAddress], connectTimeout: TimeAmount, tls: TLSContext,
                sessionCache: TLSClientSessionCache? = nil) {
        self.address = address
        self.serverName = serverName
        self.sourceAddresses = sourceAddresses
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.sessionCache = sessionCache
    }
}

/// The benchmark's state on one event loop: the connections it owns, its counters, and the phase
/// it is in.
///
/// Everything here is touched only on ``eventLoop``, so no message takes a lock; the driver reads
/// and steers a shard by running tasks on its loop. Launching is bounded: at most
/// `maximumLaunching` connections are between their first SYN and their Welcome at a time, so
/// the server's listen backlog never overflows and handshakes run at the server's pace.
final class LoadShard<Format: BenchWireFormat> {
    enum Mode: Equatable {
        /// No heartbeats are started.
        case idle
        /// Each connection sends its next heartbeat as soon as the previous one is acknowledged.
        case closedLoop
        /// Heartbeats leave at a fixed rate, round-robin over the connections.
        case paced
    }

    let eventLoop: EventLoop
    private let format: Format
    private let devices: [SimulatedDevice]
    private var target: LoadTarget
    private let deviceIndices: [Int]
    private let maximumLaunching: Int
    private let allocator = ByteBufferAllocator()

    /// Device indices still to launch, last first.
    private var pending: [Int]
    private var launching = 0
    private var connections: [BenchConnectionHandler<Format>] = []
    private var ready: [BenchConnectionHandler<Format>] = []
    private var counters = LoadCounters()

    private(set) var mode = Mode.idle
    private var recordingLatencies = false
    private var latencies: [UInt64] = []

    private var pacer: RepeatedTask?
    private var pacedStart: UInt64 = 0
    private var pacedRate: Double = 0
    private var pacedDue = 0
    private var pacedCursor = 0

    /// - Parameters:
    ///   - deviceIndices: the devices this shard connects, in order.
    init(eventLoop: EventLoop, format: Format, devices: [SimulatedDevice], deviceIndices: [Int], target: LoadTarget, maximumLaunching: Int) {
        self.eventLoop = eventLoop
        self.format = format
        self.devices = devices
        self.pending = deviceIndices.reversed()
        self.deviceIndices = deviceIndices
        self.target = target
        self.maximumLaunching = max(1, maximumLaunching)
        self.counters.launchesOutstanding = deviceIndices.count
    }

    var snapshot: LoadCounters { counters }

    // MARK: Launching

    func startLaunching() {
        if counters.firstConnectNanos == nil, !pending.isEmpty {
            counters.firstConnectNanos = NIODeadline.now().uptimeNanoseconds
        }
        launchMore()
    }

    private func launchMore() {
        while launching < maximumLaunching, let index = pending.popLast() {
            launching += 1
            counters.attempted += 1
            connect(devices[index], index: index)
        }
    }

    private func connect(_ device: SimulatedDevice, index: Int) {
        let handler = BenchConnectionHandler(session: format.makeSession(for: device, allocator: allocator), shard: self)
        connections.append(handler)
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        let tls = target.tls
        let serverName = target.serverName
        let credentials = device.credentials
        let sessionCache = target.sessionCache
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(target.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(TLSHandler(
                        context: tls, serverHostname: serverName, sessionCache: sessionCache, sessionKey: "device-\(index)", credentials: credentials))
                    try sync.addHandler(bound.value)
                }
            }
        if !target.sourceAddresses.isEmpty {
            bootstrap = bootstrap.bind(to: target.sourceAddresses[index % target.sourceAddresses.count])
        }
        bootstrap.connect(to: target.address).whenFailure { error in
            bound.value.connectFailed(error)
        }
    }

    // MARK: Reports from connections

    func tlsEstablished(_ details: TLSHandshakeCompleted) {
        if counters.tls == nil { counters.tls = details }
        if details.resumed { counters.resumed += 1 }
    }

    func welcomed(_ connection: BenchConnectionHandler<Format>) {
        launching -= 1
        counters.launchesOutstanding -= 1
        counters.welcomed += 1
        counters.lastWelcomeNanos = NIODeadline.now().uptimeNanoseconds
        ready.append(connection)
        launchMore()
    }

    func launchFailed(reason: String) {
        launching -= 1
        counters.launchesOutstanding -= 1
        counters.launchFailures[reason, default: 0] += 1
        launchMore()
    }

    func lost(reason: String, unanswered: Int) {
        counters.lost[reason, default: 0] += 1
        counters.inFlight -= unanswered
    }

    func heartbeatSent() {
        counters.heartbeatsSent += 1
        counters.inFlight += 1
    }

    func acknowledged(latencyNanoseconds: UInt64) {
        counters.acks += 1
        counters.inFlight -= 1
        if recordingLatencies { latencies.append(latencyNanoseconds) }
    }

    // MARK: Phases

    /// Number of welcomed connections on this loop.
    var readyCount: Int { ready.count }

    /// Starts the closed loop: one heartbeat on every ready connection, the next on each ack.
    func startClosedLoop() {
        mode = .closedLoop
        let now = NIODeadline.now().uptimeNanoseconds
        for connection in ready {
            connection.sendHeartbeat(now: now)
        }
    }

    /// Starts sending `ratePerSecond` heartbeats per second from this loop, round-robin over its
    /// ready connections, checked every millisecond.
    func startPaced(ratePerSecond: Double) {
        stopPacer()
        mode = .paced
        pacedRate = ratePerSecond
        pacedStart = NIODeadline.now().uptimeNanoseconds
        pacedDue = 0
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        pacer = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in
            bound.value.pacedTick()
        }
    }

    private func pacedTick() {
        guard mode == .paced, !ready.isEmpty else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        let due = Int(Double(now &- pacedStart) * pacedRate / 1e9)
        while pacedDue < due {
            ready[pacedCursor].sendHeartbeat(now: now)
            pacedCursor += 1
            if pacedCursor == ready.count { pacedCursor = 0 }
            pacedDue += 1
        }
    }

    /// Sends no new heartbeats; those in flight still count when acknowledged.
    func stopHeartbeats() {
        mode = .idle
        stopPacer()
    }

    private func stopPacer() {
        pacer?.cancel()
        pacer = nil
    }

    /// Starts (discarding earlier samples) or stops keeping ack latencies.
    func recordLatencies(_ on: Bool) {
        if on {
            latencies.removeAll(keepingCapacity: true)
            latencies.reserveCapacity(max(1024, Int(pacedRate * 10)))
        }
        recordingLatencies = on
    }

    var recordedLatencies: [UInt64] { latencies }

    /// Closes every connection without counting it lost, then launches all of this shard's devices
    /// again towards `target` (at once, within the launch bound): a reconnect storm. Succeeds once
    /// the relaunch has started; ``LoadCounters/launchesOutstanding`` tells when it is over.
    func relaunchAll(target: LoadTarget) -> EventLoopFuture<Void> {
        stopHeartbeats()
        pending.removeAll()
        let futures = connections.compactMap { $0.closeQuietly() }
        connections.removeAll()
        ready.removeAll()
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        return EventLoopFuture.andAllComplete(futures, on: eventLoop).map {
            let shard = bound.value
            shard.target = target
            shard.launching = 0
            shard.pending = shard.deviceIndices.reversed()
            shard.counters.launchesOutstanding += shard.deviceIndices.count
            shard.launchMore()
        }
    }

    /// Closes every connection; succeeds when all are closed. The shard lets go of its connections.
    func closeAll() -> EventLoopFuture<Void> {
        stopHeartbeats()
        pending.removeAll()
        let futures = connections.compactMap { $0.close() }
        connections.removeAll()
        ready.removeAll()
        return EventLoopFuture.andAllComplete(futures, on: eventLoop)
    }
}

@available(*, unavailable)
extension LoadShard: Sendable {}
