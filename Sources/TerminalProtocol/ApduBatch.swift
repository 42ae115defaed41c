/// Server → terminal: run these command APDUs, in order, on one logical channel
/// (`serverlpa.terminal.v1.ApduBatch`). The terminal answers with an ``ApduBatchResult`` carrying the
/// same ``batchID``.
///
/// The terminal answers a `61xx` status word with GET RESPONSE itself (on the same channel) and
/// judges the final status word with ``accepts(statusWord:)``: it stops at the first APDU whose
/// status word is not accepted and reports ``BatchStatus/stopped``.
public struct ApduBatch: Sendable, Hashable {
    /// Chosen by the server; echoed in the result.
    public var batchID: UInt32
    /// The logical channel, 0–19. The CLA byte of every APDU already encodes it.
    public var channel: UInt8
    /// Complete command APDUs (header, Lc, data, Le).
    public var apdus: [[UInt8]]
    /// Status words that let the batch continue, besides `91xx`. Empty means `9000` only.
    public var acceptSW: [UInt16]

    public init(batchID: UInt32 = 0, channel: UInt8 = 0, apdus: [[UInt8]] = [], acceptSW: [UInt16] = []) {
        self.batchID = batchID
        self.channel = channel
        self.apdus = apdus
        self.acceptSW = acceptSW
    }

    /// Whether the terminal carries on after an APDU that ended with `statusWord` (the final one,
    /// after GET RESPONSE chaining): `91xx` (success with a proactive command pending) always; otherwise
    /// `9000` when ``acceptSW`` is empty, or exactly the listed words.
    public func accepts(statusWord: UInt16) -> Bool {
        if statusWord & 0xFF00 == 0x9100 {
            return true
        }
        return acceptSW.isEmpty ? statusWord == 0x9000 : acceptSW.contains(statusWord)
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.channel(channel, field: "apdu_batch.channel")
        try FieldRules.byteStrings(
            apdus,
            countLimit: limits.maximumApdusPerBatch,
            lengthLimit: limits.maximumApduLength,
            field: "apdu_batch.apdus"
        )
        try FieldRules.count(acceptSW.count, limit: limits.maximumAcceptedStatusWords, field: "apdu_batch.accept_sw")
    }
}

extension ApduBatch {
    /// Bytes a batch frame spends besides the APDUs themselves (prefix, message and field headers), an upper bound.
    static let frameOverhead = 64
    /// Bytes each APDU adds besides its own (field tag and length), an upper bound.
    static let perApduOverhead = 6

    /// `batch` cut, in order and on APDU boundaries, into batches whose frames fit `maximumFrameLength`. A single
    /// APDU larger than the limit travels alone (the terminal will refuse it, as it would anyway).
    public static func split(_ batch: ApduBatch, maximumFrameLength: Int) -> [ApduBatch] {
        var parts: [ApduBatch] = []
        var current: [[UInt8]] = []
        var size = frameOverhead + batch.acceptSW.count * 4
        for apdu in batch.apdus {
            let cost = apdu.count + perApduOverhead
            if !current.isEmpty, size + cost > maximumFrameLength {
                parts.append(ApduBatch(batchID: batch.batchID, channel: batch.channel, apdus: current, acceptSW: batch.acceptSW))
                current = []
                size = frameOverhead + batch.acceptSW.count * 4
            }
            current.append(apdu)
            size += cost
        }
        if !current.isEmpty || parts.isEmpty {
            parts.append(ApduBatch(batchID: batch.batchID, channel: batch.channel, apdus: current, acceptSW: batch.acceptSW))
        }
        return parts
    }
}
