import LPATLS
import NIOCore
import TerminalProtocol

/// The device-agent side of the terminal protocol, for one connection of a ``SimulatedTerminal``.
final class SimulatedTerminalHandler: ChannelInboundHandler {
    typealias InboundIn = TerminalFrame
    typealias OutboundOut = TerminalFrame

    private unowned let terminal: SimulatedTerminal
    private let statistics: FleetStatistics
    private var heartbeatTask: RepeatedTask?
    private var intervalSeconds: UInt32 = 0
    private var seq: UInt32 = 0
    private var sentAt: [UInt32: NIODeadline] = [:]
    private var online = false
    private let startedAt = NIODeadline.now()

    init(terminal: SimulatedTerminal, statistics: FleetStatistics) {
        self.terminal = terminal
        self.statistics = statistics
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSHandshakeCompleted {
            statistics.update {
                $0.handshakes += 1
                if tls.resumed { $0.resumedHandshakes += 1 }
            }
            var identity = terminal.device.identity
            if let iccid = terminal.card.enabledICCID { identity.iccid = iccid }
            let hello = Hello(protocolVersion: TerminalProtocolVersion.current, identity: identity,
                              agent: "lpa-sim/1", maximumFrameLength: 0)
            context.writeAndFlush(wrapOutboundOut(.hello(hello)), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .welcome(let welcome):
            online = true
            terminal.welcomed()
            statistics.update {
                $0.welcomed += 1
                $0.online += 1
            }
            apply(settings: welcome.settings, context: context, initial: true)
        case .reject(let reject):
            statistics.update { $0.rejected[reject.code.name, default: 0] += 1 }
            terminal.serverAsksRetry(after: reject.retryAfterSeconds)
            context.close(promise: nil)
        case .settings(let settings):
            statistics.update { $0.settingsReceived += 1 }
            apply(settings: settings, context: context, initial: false)
        case .heartbeatAck(let ack):
            if let sent = sentAt.removeValue(forKey: ack.seq) {
                statistics.recordAckLatency(nanoseconds: (NIODeadline.now() - sent).nanoseconds)
            }
            statistics.update { $0.heartbeatAcks += 1 }
        case .apduBatch(let batch):
            let result = ApduBatchExecutor.execute(batch, on: terminal.card)
            statistics.update {
                $0.batchesExecuted += 1
                $0.apdusExecuted += result.responses.count
            }
            let refresh = terminal.card.takeRefreshRequest()
            let bytes = batch.apdus.reduce(0) { $0 + $1.count } + result.responses.reduce(0) { $0 + $1.count }
            answer(.apduBatchResult(result), bytes: bytes, context: context) { context in
                guard refresh else { return }
                // The modem restarts on the new profile: the answer is out, now drop and come back.
                self.statistics.update { $0.refreshes += 1 }
                context.close(promise: nil)
            }
        case .channelOpen(let open):
            let r = terminal.card.openLogicalChannel(aid: open.aid)
            answer(.channelOpenResult(ChannelOpenResult(
                requestID: open.requestID, channel: r.channel, statusWord: r.sw, selectResponse: r.response, detail: "")),
                bytes: open.aid.count + r.response.count + 8, context: context)
        case .channelClose(let close):
            let sw = terminal.card.closeLogicalChannel(close.channel)
            answer(.channelCloseResult(ChannelCloseResult(requestID: close.requestID, statusWord: sw)), bytes: 8, context: context)
        case .goodbye(let bye):
            statistics.update { $0.goodbyes[bye.reason.name, default: 0] += 1 }
            if bye.reason == .shuttingDown { terminal.serverAsksRetry(after: 1) }
            context.close(promise: nil)
        case .hello, .heartbeat, .apduBatchResult, .channelOpenResult, .channelCloseResult:
            context.close(promise: nil)
        }
    }

    /// Sends an answer to a server request after the link's delay (at once on loopback); a lossy link may
    /// drop the connection instead.
    private func answer(_ frame: TerminalFrame, bytes: Int, context: ChannelHandlerContext,
                        then: @escaping (ChannelHandlerContext) -> Void = { _ in }) {
        let link = terminal.link
        if link.drops() {
            statistics.update { $0.linkDrops += 1 }
            context.close(promise: nil)
            return
        }
        let delay = link.delaySeconds(bytes: bytes)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let send = {
            let (handler, context) = bound.value
            context.writeAndFlush(handler.wrapOutboundOut(frame)).whenComplete { _ in then(context) }
        }
        if delay <= 0 {
            send()
        } else {
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(delay * 1e9))) { send() }
        }
    }

    private func apply(settings: TerminalSettings, context: ChannelHandlerContext, initial: Bool) {
        let interval = max(1, settings.heartbeatIntervalSeconds)
        if !initial, interval != intervalSeconds {
            statistics.update { $0.intervalChanges += 1 }
        }
        guard interval != intervalSeconds else { return }
        intervalSeconds = interval
        heartbeatTask?.cancel()
        let period = TimeAmount.seconds(Int64(interval))
        // Spread the first heartbeat over the interval so a fleet does not beat in lockstep.
        let first = TimeAmount.milliseconds(Int64.random(in: 0...(Int64(interval) * 1000)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        heartbeatTask = context.eventLoop.scheduleRepeatedTask(initialDelay: first, delay: period) { _ in
            let (handler, context) = bound.value
            handler.sendHeartbeat(context: context)
        }
    }

    private func sendHeartbeat(context: ChannelHandlerContext) {
        seq &+= 1
        sentAt[seq] = .now()
        if sentAt.count > 64 { sentAt.removeAll() }
        let uptime = UInt32((NIODeadline.now() - startedAt).nanoseconds / 1_000_000_000)
        context.writeAndFlush(wrapOutboundOut(.heartbeat(Heartbeat(seq: seq, uptimeSeconds: uptime, rssiDBm: 0))), promise: nil)
        statistics.update { $0.heartbeatsSent += 1 }
    }

    func channelInactive(context: ChannelHandlerContext) {
        heartbeatTask?.cancel()
        heartbeatTask = nil
        if online {
            online = false
            statistics.update { $0.online -= 1 }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let name = (error as? TLSError)?.code ?? (error as? TerminalProtocolError).map { _ in "PROTOCOL_VIOLATION" } ?? "\(type(of: error))"
        statistics.update { $0.connectFailures[name, default: 0] += 1 }
        context.close(promise: nil)
    }
}
