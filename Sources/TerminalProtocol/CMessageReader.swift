import CProtobufC
import CTerminalProto

/// Turns a `Serverlpa__Terminal__V1__Frame` unpacked by protobuf-c into Swift values.
///
/// Checks what the C structures can hide: that the body is set, that strings are UTF-8 without NUL
/// characters (using the true length the ``ScratchArena`` recorded), and that status words fit 16
/// bits and channels fit ``TerminalProtocolLimits/maximumLogicalChannel``. Lengths and counts are
/// checked afterwards by ``TerminalFrame/validate(limits:)``.
///
/// Every string and byte pointer it reads must come from a ``ScratchArena`` allocator or be
/// protobuf-c's shared empty string.
struct CMessageReader {
    /// protobuf-c's empty string: the value of every string field absent from the wire.
    private static let emptyStringAddress: UInt = {
        var field = Serverlpa__Terminal__V1__Field()
        serverlpa__terminal__v1__field__init(&field)
        return UInt(bitPattern: field.key)
    }()

    func frame(_ message: UnsafePointer<Serverlpa__Terminal__V1__Frame>) throws(TerminalProtocolError) -> TerminalFrame {
        let frame = message.pointee
        switch frame.body_case {
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO:
            return .hello(try hello(frame.hello))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME:
            return .welcome(try welcome(frame.welcome))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_REJECT:
            return .reject(try reject(frame.reject))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT:
            let heartbeat = try present(frame.heartbeat).pointee
            return .heartbeat(Heartbeat(seq: heartbeat.seq, uptimeSeconds: heartbeat.uptime_s, rssiDBm: heartbeat.rssi_dbm))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK:
            return .heartbeatAck(HeartbeatAck(seq: try present(frame.heartbeat_ack).pointee.seq))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS:
            return .settings(settings(try present(frame.settings)))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH:
            return .apduBatch(try apduBatch(frame.apdu_batch))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH_RESULT:
            return .apduBatchResult(try apduBatchResult(frame.apdu_batch_result))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN:
            let open = try present(frame.channel_open).pointee
            return .channelOpen(ChannelOpen(requestID: open.request_id, aid: bytes(open.aid)))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT:
            return .channelOpenResult(try channelOpenResult(frame.channel_open_result))
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE:
            let close = try present(frame.channel_close).pointee
            return .channelClose(
                ChannelClose(requestID: close.request_id, channel: try channel(close.channel, field: "channel_close.channel"))
            )
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE_RESULT:
            let result = try present(frame.channel_close_result).pointee
            return .channelCloseResult(
                ChannelCloseResult(
                    requestID: result.request_id,
                    statusWord: try statusWord(result.sw, field: "channel_close_result.sw")
                )
            )
        case SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE:
            let goodbye = try present(frame.goodbye).pointee
            return .goodbye(
                Goodbye(reason: reasonCode(goodbye.reason), text: try string(goodbye.text, field: "goodbye.text"))
            )
        default:
            // Members of `body` this version does not define land among the unknown fields.
            if frame.base.n_unknown_fields > 0, let unknown = frame.base.unknown_fields {
                throw .unknownBody(fieldNumber: unknown[0].tag)
            }
            throw .missingBody
        }
    }

    // MARK: Messages

    private func hello(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__Hello>?) throws(TerminalProtocolError) -> Hello {
        let hello = try present(message).pointee
        var identity = Identity()
        if let present = hello.identity {
            identity = try self.identity(present)
        }
        return Hello(
            protocolVersion: hello.protocol_version,
            identity: identity,
            agent: try string(hello.agent, field: "hello.agent"),
            maximumFrameLength: hello.max_frame
        )
    }

    private func identity(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__Identity>) throws(TerminalProtocolError) -> Identity {
        let identity = message.pointee
        var extra: [Identity.Field] = []
        extra.reserveCapacity(identity.n_extra)
        for index in 0..<identity.n_extra {
            let field = try present(identity.extra[index]).pointee
            extra.append(
                Identity.Field(
                    key: try string(field.key, field: "hello.identity.extra[\(index)].key"),
                    value: try string(field.value, field: "hello.identity.extra[\(index)].value")
                )
            )
        }
        return Identity(
            eid: try string(identity.eid, field: "hello.identity.eid"),
            imei: try string(identity.imei, field: "hello.identity.imei"),
            iccid: try string(identity.iccid, field: "hello.identity.iccid"),
            model: try string(identity.model, field: "hello.identity.model"),
            firmware: try string(identity.firmware, field: "hello.identity.firmware"),
            extra: extra
        )
    }

    private func welcome(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__Welcome>?) throws(TerminalProtocolError) -> Welcome {
        let welcome = try present(message).pointee
        var requiredFields: [String] = []
        requiredFields.reserveCapacity(welcome.n_required_fields)
        for index in 0..<welcome.n_required_fields {
            requiredFields.append(try string(welcome.required_fields[index], field: "welcome.required_fields[\(index)]"))
        }
        return Welcome(
            protocolVersion: welcome.protocol_version,
            sessionID: try string(welcome.session_id, field: "welcome.session_id"),
            settings: welcome.settings.map(settings) ?? TerminalSettings(),
            requiredFields: requiredFields,
            model: try string(welcome.model, field: "welcome.model")
        )
    }

    private func reject(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__Reject>?) throws(TerminalProtocolError) -> Reject {
        let reject = try present(message).pointee
        return Reject(
            code: reasonCode(reject.code),
            text: try string(reject.text, field: "reject.text"),
            retryAfterSeconds: reject.retry_after_s
        )
    }

    private func settings(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__Settings>) -> TerminalSettings {
        let settings = message.pointee
        return TerminalSettings(
            heartbeatIntervalSeconds: settings.heartbeat_interval_s,
            historyLimit: settings.history_limit,
            version: settings.version
        )
    }

    private func apduBatch(_ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__ApduBatch>?) throws(TerminalProtocolError) -> ApduBatch {
        let batch = try present(message).pointee
        var acceptSW: [UInt16] = []
        acceptSW.reserveCapacity(batch.n_accept_sw)
        for index in 0..<batch.n_accept_sw {
            acceptSW.append(try statusWord(batch.accept_sw[index], field: "apdu_batch.accept_sw[\(index)]"))
        }
        return ApduBatch(
            batchID: batch.batch_id,
            channel: try channel(batch.channel, field: "apdu_batch.channel"),
            apdus: byteArrays(batch.apdus, count: batch.n_apdus),
            acceptSW: acceptSW
        )
    }

    private func apduBatchResult(
        _ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__ApduBatchResult>?
    ) throws(TerminalProtocolError) -> ApduBatchResult {
        let result = try present(message).pointee
        return ApduBatchResult(
            batchID: result.batch_id,
            status: BatchStatus(rawValue: Int32(bitPattern: result.status.rawValue)),
            responses: byteArrays(result.responses, count: result.n_responses),
            detail: try string(result.detail, field: "apdu_batch_result.detail")
        )
    }

    private func channelOpenResult(
        _ message: UnsafeMutablePointer<Serverlpa__Terminal__V1__ChannelOpenResult>?
    ) throws(TerminalProtocolError) -> ChannelOpenResult {
        let result = try present(message).pointee
        return ChannelOpenResult(
            requestID: result.request_id,
            channel: try channel(result.channel, field: "channel_open_result.channel"),
            statusWord: try statusWord(result.sw, field: "channel_open_result.sw"),
            selectResponse: bytes(result.select_response),
            detail: try string(result.detail, field: "channel_open_result.detail")
        )
    }

    // MARK: Fields

    /// A oneof member or repeated message protobuf-c reports as present is never NULL; a NULL would be
    /// a protobuf-c defect, reported rather than dereferenced.
    private func present<Message>(_ pointer: UnsafeMutablePointer<Message>?) throws(TerminalProtocolError) -> UnsafeMutablePointer<Message> {
        guard let pointer else {
            throw .malformedMessage(detail: "protobuf-c returned no \(Message.self)")
        }
        return pointer
    }

    private func string(_ pointer: UnsafeMutablePointer<CChar>?, field: @autoclosure () -> String) throws(TerminalProtocolError) -> String {
        guard let pointer, UInt(bitPattern: pointer) != Self.emptyStringAddress else {
            return ""
        }
        // protobuf-c copies a string of n bytes into an allocation of n + 1 and appends a NUL.
        let length = ScratchArena.allocationSize(of: pointer) - 1
        let utf8 = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
        guard !utf8.contains(0) else {
            throw .invalidField(name: field(), reason: "contains a NUL character")
        }
        guard let value = String(validating: utf8, as: UTF8.self) else {
            throw .invalidField(name: field(), reason: "not valid UTF-8")
        }
        return value
    }

    private func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    private func byteArrays(_ items: UnsafeMutablePointer<ProtobufCBinaryData>?, count: Int) -> [[UInt8]] {
        guard let items, count > 0 else { return [] }
        return UnsafeBufferPointer(start: items, count: count).map(bytes)
    }

    private func channel(_ value: UInt32, field: @autoclosure () -> String) throws(TerminalProtocolError) -> UInt8 {
        try FieldRules.channel(value, field: field())
        return UInt8(value)
    }

    private func statusWord(_ value: UInt32, field: @autoclosure () -> String) throws(TerminalProtocolError) -> UInt16 {
        try FieldRules.statusWord(value, field: field())
        return UInt16(value)
    }

    private func reasonCode(_ value: Serverlpa__Terminal__V1__ReasonCode) -> ReasonCode {
        ReasonCode(rawValue: Int32(bitPattern: value.rawValue))
    }
}
