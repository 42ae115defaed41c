import Foundation
import LPAConfig
import LPATLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import TerminalProtocol

/// The terminal-facing server of `lpa-edge`: accepts TLS connections, runs one
/// ``TerminalSessionHandler`` per terminal, closes heartbeat counting windows and reports them to
/// the core link, and drains on shutdown.
///
/// Pipeline per connection: `AdmissionHandler` (until admitted) → `TLSHandler` →
/// `TerminalSessionHandler` (which also frames the byte stream).
public final class EdgeServer: Service, Sendable {
    public let environment: EdgeEnvironment
    public let admission: AdmissionControl
    private let tlsContext: TLSContext
    private let group: EventLoopGroup
    /// Connections accepted at once: `limits.maxConnections`, or derived from the open-file limit.
    public let connectionCap: Int
    private let state = NIOLockedValueBox(RunState())

    private struct RunState {
        var serverChannel: Channel?
        var windowTask: RepeatedTask?
        var children: [ObjectIdentifier: Channel] = [:]
        var draining = false
    }

    /// - Parameters:
    ///   - environment: configuration, core link, tables and logger shared by all sessions.
    ///   - group: event loops to serve on (defaults to one per core).
    public init(environment: EdgeEnvironment, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.environment = environment
        self.group = group
        let config = environment.configuration
        let cap = config.limits.connectionCap(openFiles: FileDescriptorLimit.softLimit)
        if let warning = cap.warning { environment.logger.warning("\(warning)") }
        self.connectionCap = cap.cap
        self.admission = AdmissionControl(
            maxConnections: cap.cap,
            handshakesPerSecondPerAddress: config.limits.handshakesPerSecondPerAddress,
            burstPerAddress: config.limits.handshakeBurstPerAddress)
        self.tlsContext = try TLSContext(configuration: try config.tlsConfiguration())
    }

    /// The address the server listens on, once started.
    public var localAddress: SocketAddress? {
        state.withLockedValue { $0.serverChannel?.localAddress }
    }

    /// Binds the listening socket and starts the counting-window timer; returns the bound address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let config = environment.configuration
        let env = environment
        let tls = tlsContext
        let admission = self.admission
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(
            low: config.limits.writeBufferLowWaterBytes, high: config.limits.writeBufferHighWaterBytes)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(config.listen.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { [weak self] channel in
                self?.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(AdmissionHandler(control: admission, metrics: env.metrics))
                    try sync.addHandler(TLSHandler(context: tls))
                    try sync.addHandler(TerminalSessionHandler(environment: env))
                }
            }
        let channel = try await bootstrap.bind(host: config.listen.host, port: config.listen.port).get()
        let window = Int64(config.heartbeat.countWindowSeconds)
        let task = group.next().scheduleRepeatedTask(initialDelay: .seconds(window), delay: .seconds(window)) { _ in
            env.closeCountingWindow()
        }
        state.withLockedValue {
            $0.serverChannel = channel
            $0.windowTask = task
        }
        environment.logger.info("lpa-edge listening", metadata: [
            "address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
            "mutual_tls": "\(config.tls.requireClientCertificate)",
            "node": "\(config.nodeID)",
            "max_connections": "\(connectionCap)",
        ])
        return channel.localAddress!
    }

    private func track(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        let refuse = state.withLockedValue { s -> Bool in
            if s.draining { return true }
            s.children[id] = channel
            return false
        }
        if refuse {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLockedValue { $0.children.removeValue(forKey: id) }
        }
    }

    /// Open connections (admitted or still handshaking).
    public var connectionCount: Int { state.withLockedValue { $0.children.count } }

    /// True from the moment ``stop()`` begins: no new terminal is admitted.
    public var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Stops accepting; asks each terminal to leave with `SHUTTING_DOWN` once no core request to it is waiting
    /// for an answer (running APDU exchanges finish), within `drainSeconds` in all; then closes what is left
    /// and reports the last counting window.
    public func stop() async {
        let (server, task, children) = state.withLockedValue { s -> (Channel?, RepeatedTask?, [Channel]) in
            s.draining = true
            let r = (s.serverChannel, s.windowTask, Array(s.children.values))
            s.serverChannel = nil
            s.windowTask = nil
            return r
        }
        task?.cancel()
        try? await server?.close()
        environment.logger.info("draining", metadata: ["connections": "\(children.count)"])
        let deadline = NIODeadline.now() + .nanoseconds(Int64(environment.configuration.drainSeconds * 1e9))
        var waiting = environment.sessions.all
        while true {
            let overdue = NIODeadline.now() >= deadline
            var busy: [TerminalSessionHandle] = []
            for handle in waiting {
                if handle.isExchanging && !overdue {
                    busy.append(handle)
                } else {
                    _ = handle.disconnect(reason: .shuttingDown, text: "edge is shutting down; reconnect elsewhere")
                }
            }
            waiting = busy
            if waiting.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        while connectionCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let rest = state.withLockedValue { Array($0.children.values) }
        for channel in rest { channel.close(promise: nil) }
        for channel in rest { try? await channel.closeFuture.get() }
        _ = children
        environment.closeCountingWindow()
        environment.logger.info("drained")
    }

    /// Runs until graceful shutdown (SIGTERM/SIGINT under a ServiceGroup), then drains.
    public func run() async throws {
        if localAddress == nil { try await start() }
        try? await gracefulShutdown()
        await stop()
    }
}

extension EdgeEnvironment {
    /// Ends the current counting window and hands its counts to the core link in batches.
    func closeCountingWindow() {
        let counts = ledger.closeWindow(newStart: unixTime())
        guard !counts.isEmpty else { return }
        let link = coreLink
        Task {
            var index = 0
            while index < counts.count {
                let end = min(index + 5_000, counts.count)
                await link.report(heartbeats: Array(counts[index..<end]))
                index = end
            }
        }
    }
}
