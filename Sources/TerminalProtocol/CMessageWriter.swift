import CProtobufC
import CTerminalProto

/// Builds the protobuf-c structures for a ``TerminalFrame`` inside a ``ScratchArena``.
///
/// Strings and byte arrays are copied into the arena (protobuf-c needs NUL-terminated strings and
/// stable pointers), so the result is valid until the arena is released and no longer than that.
/// A string is written up to its first NUL character, the most a C string can hold;
/// ``TerminalFrame/validate(limits:)`` reports such strings.
struct CMessageWriter {
    let arena: UnsafeMutablePointer<ScratchArena>

    func frame(_ frame: TerminalFrame) -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Frame> {
        let message = arena.pointee.allocate(Serverlpa__Terminal__V1__Frame.self)
        serverlpa__terminal__v1__frame__init(message)
        switch frame {
        case .hello(let hello):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO
            message.pointee.hello = self.hello(hello)
        case .welcome(let welcome):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME
            message.pointee.welcome = self.welcome(welcome)
        case .reject(let reject):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_REJECT
            let c = allocate(Serverlpa__Terminal__V1__Reject.self, serverlpa__terminal__v1__reject__init)
            c.pointee.code = reasonCode(reject.code)
            c.pointee.text = string(reject.text)
            c.pointee.retry_after_s = reject.retryAfterSeconds
            message.pointee.reject = c
        case .heartbeat(let heartbeat):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT
            let c = allocate(Serverlpa__Terminal__V1__Heartbeat.self, serverlpa__terminal__v1__heartbeat__init)
            c.pointee.seq = heartbeat.seq
            c.pointee.uptime_s = heartbeat.uptimeSeconds
            c.pointee.rssi_dbm = heartbeat.rssiDBm
            message.pointee.heartbeat = c
        case .heartbeatAck(let ack):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK
            let c = allocate(Serverlpa__Terminal__V1__HeartbeatAck.self, serverlpa__terminal__v1__heartbeat_ack__init)
            c.pointee.seq = ack.seq
            message.pointee.heartbeat_ack = c
        case .settings(let settings):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS
            message.pointee.settings = self.settings(settings)
        case .apduBatch(let batch):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH
            let c = allocate(Serverlpa__Terminal__V1__ApduBatch.self, serverlpa__terminal__v1__apdu_batch__init)
            c.pointee.batch_id = batch.batchID
            c.pointee.channel = UInt32(batch.channel)
            (c.pointee.n_apdus, c.pointee.apdus) = byteArrays(batch.apdus)
            (c.pointee.n_accept_sw, c.pointee.accept_sw) = array(batch.acceptSW.map(UInt32.init))
            message.pointee.apdu_batch = c
        case .apduBatchResult(let result):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH_RESULT
            let c = allocate(Serverlpa__Terminal__V1__ApduBatchResult.self, serverlpa__terminal__v1__apdu_batch_result__init)
            c.pointee.batch_id = result.batchID
            c.pointee.status = Serverlpa__Terminal__V1__BatchStatus(rawValue: UInt32(bitPattern: result.status.rawValue))
            (c.pointee.n_responses, c.pointee.responses) = byteArrays(result.responses)
            c.pointee.detail = string(result.detail)
            message.pointee.apdu_batch_result = c
        case .channelOpen(let open):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN
            let c = allocate(Serverlpa__Terminal__V1__ChannelOpen.self, serverlpa__terminal__v1__channel_open__init)
            c.pointee.request_id = open.requestID
            c.pointee.aid = bytes(open.aid)
            message.pointee.channel_open = c
        case .channelOpenResult(let result):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT
            let c = allocate(Serverlpa__Terminal__V1__ChannelOpenResult.self, serverlpa__terminal__v1__channel_open_result__init)
            c.pointee.request_id = result.requestID
            c.pointee.channel = UInt32(result.channel)
            c.pointee.sw = UInt32(result.statusWord)
            c.pointee.select_response = bytes(result.selectResponse)
            c.pointee.detail = string(result.detail)
            message.pointee.channel_open_result = c
        case .channelClose(let close):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE
            let c = allocate(Serverlpa__Terminal__V1__ChannelClose.self, serverlpa__terminal__v1__channel_close__init)
            c.pointee.request_id = close.requestID
            c.pointee.channel = UInt32(close.channel)
            message.pointee.channel_close = c
        case .channelCloseResult(let result):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE_RESULT
            let c = allocate(Serverlpa__Terminal__V1__ChannelCloseResult.self, serverlpa__terminal__v1__channel_close_result__init)
            c.pointee.request_id = result.requestID
            c.pointee.sw = UInt32(result.statusWord)
            message.pointee.channel_close_result = c
        case .goodbye(let goodbye):
            message.pointee.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE
            let c = allocate(Serverlpa__Terminal__V1__Goodbye.self, serverlpa__terminal__v1__goodbye__init)
            c.pointee.reason = reasonCode(goodbye.reason)
            c.pointee.text = string(goodbye.text)
            message.pointee.goodbye = c
        }
        return message
    }

    // MARK: Messages

    private func hello(_ hello: Hello) -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Hello> {
        let c = allocate(Serverlpa__Terminal__V1__Hello.self, serverlpa__terminal__v1__hello__init)
        c.pointee.protocol_version = hello.protocolVersion
        c.pointee.identity = identity(hello.identity)
        c.pointee.agent = string(hello.agent)
        c.pointee.max_frame = hello.maximumFrameLength
        return c
    }

    private func identity(_ identity: Identity) -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Identity> {
        let c = allocate(Serverlpa__Terminal__V1__Identity.self, serverlpa__terminal__v1__identity__init)
        c.pointee.eid = string(identity.eid)
        c.pointee.imei = string(identity.imei)
        c.pointee.iccid = string(identity.iccid)
        c.pointee.model = string(identity.model)
        c.pointee.firmware = string(identity.firmware)
        (c.pointee.n_extra, c.pointee.extra) = array(
            identity.extra.map { field -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Field>? in
                let c = allocate(Serverlpa__Terminal__V1__Field.self, serverlpa__terminal__v1__field__init)
                c.pointee.key = string(field.key)
                c.pointee.value = string(field.value)
                return c
            }
        )
        return c
    }

    private func welcome(_ welcome: Welcome) -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Welcome> {
        let c = allocate(Serverlpa__Terminal__V1__Welcome.self, serverlpa__terminal__v1__welcome__init)
        c.pointee.protocol_version = welcome.protocolVersion
        c.pointee.session_id = string(welcome.sessionID)
        c.pointee.settings = settings(welcome.settings)
        (c.pointee.n_required_fields, c.pointee.required_fields) = array(welcome.requiredFields.map { string($0) })
        c.pointee.model = string(welcome.model)
        return c
    }

    private func settings(_ settings: TerminalSettings) -> UnsafeMutablePointer<Serverlpa__Terminal__V1__Settings> {
        let c = allocate(Serverlpa__Terminal__V1__Settings.self, serverlpa__terminal__v1__settings__init)
        c.pointee.heartbeat_interval_s = settings.heartbeatIntervalSeconds
        c.pointee.history_limit = settings.historyLimit
        c.pointee.version = settings.version
        return c
    }

    // MARK: Fields

    /// A message structure initialised by its generated `*__init` function.
    private func allocate<Message>(
        _ type: Message.Type,
        _ initialise: (UnsafeMutablePointer<Message>?) -> Void
    ) -> UnsafeMutablePointer<Message> {
        let message = arena.pointee.allocate(type)
        initialise(message)
        return message
    }

    /// A NUL-terminated copy of `value`.
    private func string(_ value: String) -> UnsafeMutablePointer<CChar> {
        var value = value
        return value.withUTF8 { utf8 in
            let copy = arena.pointee.allocate(CChar.self, count: utf8.count + 1)
            if let source = utf8.baseAddress {
                UnsafeMutableRawPointer(copy).copyMemory(from: source, byteCount: utf8.count)
            }
            copy[utf8.count] = 0
            return copy
        }
    }

    private func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        return ProtobufCBinaryData(len: value.count, data: array(value).1)
    }

    private func byteArrays(_ values: [[UInt8]]) -> (Int, UnsafeMutablePointer<ProtobufCBinaryData>?) {
        array(values.map(bytes))
    }

    /// A copy of `values` in the arena, as protobuf-c's count and pointer pair.
    private func array<Element>(_ values: [Element]) -> (Int, UnsafeMutablePointer<Element>?) {
        guard !values.isEmpty else { return (0, nil) }
        let copy = arena.pointee.allocate(Element.self, count: values.count)
        values.withUnsafeBufferPointer { copy.initialize(from: $0.baseAddress!, count: $0.count) }
        return (values.count, copy)
    }

    private func reasonCode(_ code: ReasonCode) -> Serverlpa__Terminal__V1__ReasonCode {
        Serverlpa__Terminal__V1__ReasonCode(rawValue: UInt32(bitPattern: code.rawValue))
    }
}
