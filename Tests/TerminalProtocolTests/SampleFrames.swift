import TerminalProtocol

/// Frames used across the tests.
enum SampleFrames {
    /// One frame of every kind, every field set to a value other than its default.
    static let allFieldsSet: [TerminalFrame] = [
        .hello(
            Hello(
                protocolVersion: 1,
                identity: Identity(
                    eid: "89049032123451234512345678901235",
                    imei: "356938035643809",
                    iccid: "8944501234567890123",
                    model: "meter-x2",
                    firmware: "4.2.0-rc1",
                    extra: [
                        Identity.Field(key: "site", value: "Zürich Nord"),
                        Identity.Field(key: "slot", value: "2"),
                        Identity.Field(key: "site", value: "second value for a repeated key"),
                    ]
                ),
                agent: "lpa-agent/1.3 (nb-iot)",
                maximumFrameLength: 8192
            )
        ),
        .welcome(
            Welcome(
                protocolVersion: 1,
                sessionID: "s-7f3a9c",
                settings: TerminalSettings(heartbeatIntervalSeconds: 300, historyLimit: 1000, version: 4),
                requiredFields: ["eid", "imei", "site"],
                model: "meter-x2"
            )
        ),
        .reject(Reject(code: .identityMismatch, text: "eid does not match certificate CN", retryAfterSeconds: 3600)),
        .heartbeat(Heartbeat(seq: 4_000_000_000, uptimeSeconds: 86_400, rssiDBm: -97)),
        .heartbeatAck(HeartbeatAck(seq: 4_000_000_000)),
        .settings(TerminalSettings(heartbeatIntervalSeconds: 60, historyLimit: 24, version: 9)),
        .apduBatch(
            ApduBatch(
                batchID: 77,
                channel: 19,
                apdus: [
                    [0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00],
                    [0x81, 0xE2, 0x11, 0x00, 0xFF] + Array(repeating: 0xA5, count: 255),
                ],
                acceptSW: [0x9000, 0x6A88, 0xFFFF]
            )
        ),
        .apduBatchResult(
            ApduBatchResult(
                batchID: 77,
                status: .stopped,
                responses: [[0xBF, 0x2E, 0x01, 0x00, 0x90, 0x00], [0x6A, 0x80]],
                detail: "stopped at 6A80"
            )
        ),
        .channelOpen(ChannelOpen(requestID: 5, aid: [0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00])),
        .channelOpenResult(
            ChannelOpenResult(requestID: 5, channel: 2, statusWord: 0x9000, selectResponse: [0x6F, 0x03, 0x84, 0x01, 0xA0], detail: "ok")
        ),
        .channelClose(ChannelClose(requestID: 6, channel: 2)),
        .channelCloseResult(ChannelCloseResult(requestID: 6, statusWord: 0x6881)),
        .goodbye(Goodbye(reason: .profileSwitch, text: "switching to the new profile")),
    ]

    /// One frame of every kind with every field at its default.
    static let defaults: [TerminalFrame] = [
        .hello(Hello()),
        .welcome(Welcome()),
        .reject(Reject()),
        .heartbeat(Heartbeat()),
        .heartbeatAck(HeartbeatAck()),
        .settings(TerminalSettings()),
        .apduBatch(ApduBatch()),
        .apduBatchResult(ApduBatchResult()),
        .channelOpen(ChannelOpen()),
        .channelOpenResult(ChannelOpenResult()),
        .channelClose(ChannelClose()),
        .channelCloseResult(ChannelCloseResult()),
        .goodbye(Goodbye()),
    ]

    /// A random frame that satisfies the default limits.
    static func random(using rng: inout SeededGenerator) -> TerminalFrame {
        func string(_ maximum: Int = 24) -> String {
            let alphabet = Array("abcXYZ019-_ .äé€🚀")
            return String((0..<Int.random(in: 0...maximum, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        func bytes(_ maximum: Int = 40) -> [UInt8] {
            (0..<Int.random(in: 0...maximum, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        func number() -> UInt32 {
            Bool.random(using: &rng) ? UInt32.random(in: 0...300, using: &rng) : UInt32.random(in: 0...UInt32.max, using: &rng)
        }
        func channel() -> UInt8 { UInt8.random(in: 0...19, using: &rng) }
        func statusWord() -> UInt16 { UInt16.random(in: 0...UInt16.max, using: &rng) }
        func reason() -> ReasonCode { ReasonCode(rawValue: Int32.random(in: -2...20, using: &rng)) }

        switch Int.random(in: 0..<13, using: &rng) {
        case 0:
            let extra = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Identity.Field(key: string(8), value: string()) }
            return .hello(
                Hello(
                    protocolVersion: number(),
                    identity: Identity(eid: string(), imei: string(), iccid: string(), model: string(), firmware: string(), extra: extra),
                    agent: string(),
                    maximumFrameLength: number()
                )
            )
        case 1:
            return .welcome(
                Welcome(
                    protocolVersion: number(),
                    sessionID: string(),
                    settings: TerminalSettings(heartbeatIntervalSeconds: number(), historyLimit: number(), version: number()),
                    requiredFields: (0..<Int.random(in: 0...4, using: &rng)).map { _ in string(8) },
                    model: string()
                )
            )
        case 2: return .reject(Reject(code: reason(), text: string(), retryAfterSeconds: number()))
        case 3: return .heartbeat(Heartbeat(seq: number(), uptimeSeconds: number(), rssiDBm: Int32.random(in: -140...0, using: &rng)))
        case 4: return .heartbeatAck(HeartbeatAck(seq: number()))
        case 5: return .settings(TerminalSettings(heartbeatIntervalSeconds: number(), historyLimit: number(), version: number()))
        case 6:
            return .apduBatch(
                ApduBatch(
                    batchID: number(),
                    channel: channel(),
                    apdus: (0..<Int.random(in: 0...5, using: &rng)).map { _ in bytes() },
                    acceptSW: (0..<Int.random(in: 0...3, using: &rng)).map { _ in statusWord() }
                )
            )
        case 7:
            return .apduBatchResult(
                ApduBatchResult(
                    batchID: number(),
                    status: BatchStatus(rawValue: Int32.random(in: -1...5, using: &rng)),
                    responses: (0..<Int.random(in: 0...5, using: &rng)).map { _ in bytes() },
                    detail: string()
                )
            )
        case 8: return .channelOpen(ChannelOpen(requestID: number(), aid: bytes(16)))
        case 9:
            return .channelOpenResult(
                ChannelOpenResult(requestID: number(), channel: channel(), statusWord: statusWord(), selectResponse: bytes(), detail: string())
            )
        case 10: return .channelClose(ChannelClose(requestID: number(), channel: channel()))
        case 11: return .channelCloseResult(ChannelCloseResult(requestID: number(), statusWord: statusWord()))
        default: return .goodbye(Goodbye(reason: reason(), text: string()))
        }
    }
}
