import Foundation
import LPATLS
import NIOCore
import NIOPosix
import TerminalProtocol

/// One simulated terminal: connects over mutual TLS, says Hello, heartbeats at the interval the
/// server sets, executes APDU batches on its card, and reconnects with exponential backoff and
/// jitter whenever the connection ends, until stopped.
///
/// All mutable state lives on the terminal's event loop.
final class SimulatedTerminal: @unchecked Sendable {
    let device: SimulatedDevice
    let eventLoop: EventLoop
    private let target: FleetTarget
    private let behaviour: FleetBehaviour
    private let context: TLSContext
    private let sessionCache: TLSClientSessionCache
    private let statistics: FleetStatistics
    let card: SimulatedCard
    private let sourceAddress: String?
    var link: LinkProfile { behaviour.link }

    // Event-loop confined.
    private var running = false
    private var channel: Channel?
    private var attempt = 0
    private var retryAfterSeconds: Double?
    private var reconnectTask: Scheduled<Void>?

    init(device: SimulatedDevice, eventLoop: EventLoop, target: FleetTarget, behaviour: FleetBehaviour,
         context: TLSContext, sessionCache: TLSClientSessionCache, statistics: FleetStatistics,
         card: SimulatedCard, sourceAddress: String?) {
        self.device = device
        self.eventLoop = eventLoop
        self.target = target
        self.behaviour = behaviour
        self.context = context
        self.sessionCache = sessionCache
        self.statistics = statistics
        self.card = card
        self.sourceAddress = sourceAddress
    }

    func start() {
        eventLoop.execute {
            guard !self.running else { return }
            self.running = true
            self.connect()
        }
    }

    func stop() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.running = false
            self.reconnectTask?.cancel()
            self.reconnectTask = nil
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            self.channel = nil
            channel.close(promise: nil)
            return channel.closeFuture
        }
    }

    private func connect() {
        guard running else { return }
        let statistics = self.statistics
        statistics.update { $0.connecting += 1 }
        let key = device.identity.terminalKey
        let context = self.context
        let credentials = device.credentials
        let serverName = target.serverName
        let cache = sessionCache
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(TLSHandler(
                        context: context, serverHostname: serverName, sessionCache: cache,
                        sessionKey: key, credentials: credentials))
                    try sync.addHandler(ByteToMessageHandler(TerminalFrameDecoder(maximumFrameLength: TerminalProtocolLimits.default.maximumFrameLength)))
                    try sync.addHandler(MessageToByteHandler(TerminalFrameEncoder()))
                    // A handler per connection attempt: a host name may be tried at several addresses.
                    try sync.addHandler(SimulatedTerminalHandler(terminal: self, statistics: statistics))
                }
            }
        if let source = sourceAddress, let address = try? SocketAddress(ipAddress: source, port: 0) {
            bootstrap = bootstrap.bind(to: address)
        }
        bootstrap.connect(host: target.host, port: target.port).whenComplete { result in
            self.statistics.update { $0.connecting -= 1 }
            switch result {
            case .success(let channel):
                if self.running {
                    self.channel = channel
                    channel.closeFuture.whenComplete { _ in
                        self.eventLoop.execute { self.connectionEnded(channel) }
                    }
                } else {
                    channel.close(promise: nil)
                }
            case .failure(let error):
                self.statistics.update { $0.connectFailures["\(Self.shortName(error))", default: 0] += 1 }
                self.scheduleReconnect()
            }
        }
    }

    private static func shortName(_ error: Error) -> String {
        if let tls = error as? TLSError { return tls.code }
        return String(describing: type(of: error))
    }

    private func connectionEnded(_ channel: Channel) {
        guard self.channel === channel else { return }
        self.channel = nil
        scheduleReconnect()
    }

    /// Called by the handler once the server welcomed the terminal.
    func welcomed() {
        attempt = 0
        retryAfterSeconds = nil
    }

    /// Called by the handler when the server named a retry delay.
    func serverAsksRetry(after seconds: UInt32) {
        if seconds > 0 { retryAfterSeconds = Double(seconds) }
    }

    private func scheduleReconnect() {
        guard running else { return }
        attempt += 1
        let base = min(behaviour.reconnectMaximum, behaviour.reconnectInitial * pow(2, Double(min(attempt - 1, 16))))
        let jittered = base * Double.random(in: 0.5...1.5)
        let delay = retryAfterSeconds.map { max($0, jittered) } ?? jittered
        retryAfterSeconds = nil
        statistics.update { $0.reconnects += 1 }
        reconnectTask = eventLoop.scheduleTask(in: .nanoseconds(Int64(delay * 1e9))) {
            self.connect()
        }
    }
}

extension Identity {
    /// Key of this device in the client's TLS session cache.
    var terminalKey: String { eid.isEmpty ? imei : eid }
}
