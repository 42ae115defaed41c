/// Bounds a receiver enforces on frames and on the values inside them.
///
/// ``TerminalFrameDecoder`` and ``TerminalFrameCodec/decode(_:limits:)`` reject anything outside
/// them with a ``TerminalProtocolError`` (reason ``ReasonCode/protocolViolation``). Lengths are in
/// bytes; string lengths count UTF-8 bytes. The defaults are the protocol's defaults: a peer that
/// announces no limit of its own (``Hello/maximumFrameLength`` 0) accepts at least these.
public struct TerminalProtocolLimits: Sendable, Hashable {
    /// The largest frame body a 3-byte length prefix can carry: 2^21 − 1 = 2,097,151 bytes.
    public static let hardMaximumFrameLength = LengthPrefix.maximumValue

    /// The highest logical channel number (ISO/IEC 7816-4 extended channels: 0–19).
    public static let maximumLogicalChannel: UInt8 = 19

    /// The longest application identifier (ISO/IEC 7816-5): 16 bytes.
    public static let maximumAIDLength = 16

    /// The largest status word.
    public static let maximumStatusWord: UInt32 = 0xFFFF

    /// The protocol defaults.
    public static let `default` = TerminalProtocolLimits()

    /// Largest frame body accepted, excluding the length prefix. Default 256 KiB (262,144).
    public let maximumFrameLength: Int

    /// Most APDUs in one ``ApduBatch`` and most responses in one ``ApduBatchResult``. Default 4,096.
    public let maximumApdusPerBatch: Int

    /// Longest command APDU, response, AID-select response. Default 65,544: the largest extended-length
    /// command APDU (4 header + 3 Lc + 65,535 data + 2 Le), which also covers a full response (65,536 + SW).
    public let maximumApduLength: Int

    /// Most entries in ``ApduBatch/acceptSW``. Default 64.
    public let maximumAcceptedStatusWords: Int

    /// Longest identifier-like string: identity fields and extra keys/values, agent, session ID,
    /// model, required field names. Default 256.
    public let maximumStringLength: Int

    /// Longest free text: ``Reject/text``, ``Goodbye/text``, result details. Default 1,024.
    public let maximumTextLength: Int

    /// Most entries in ``Identity/extra``. Default 32.
    public let maximumExtraFields: Int

    /// Most entries in ``Welcome/requiredFields``. Default 64.
    public let maximumRequiredFields: Int

    /// - Precondition: `maximumFrameLength` is in `1...hardMaximumFrameLength`; the other values are
    ///   not negative.
    public init(
        maximumFrameLength: Int = 256 * 1024,
        maximumApdusPerBatch: Int = 4096,
        maximumApduLength: Int = 65_544,
        maximumAcceptedStatusWords: Int = 64,
        maximumStringLength: Int = 256,
        maximumTextLength: Int = 1024,
        maximumExtraFields: Int = 32,
        maximumRequiredFields: Int = 64
    ) {
        precondition(
            (1...Self.hardMaximumFrameLength).contains(maximumFrameLength),
            "maximumFrameLength \(maximumFrameLength) is outside 1...\(Self.hardMaximumFrameLength)"
        )
        precondition(
            [
                maximumApdusPerBatch, maximumApduLength, maximumAcceptedStatusWords, maximumStringLength,
                maximumTextLength, maximumExtraFields, maximumRequiredFields,
            ].allSatisfy { $0 >= 0 },
            "terminal protocol limits must not be negative"
        )
        self.maximumFrameLength = maximumFrameLength
        self.maximumApdusPerBatch = maximumApdusPerBatch
        self.maximumApduLength = maximumApduLength
        self.maximumAcceptedStatusWords = maximumAcceptedStatusWords
        self.maximumStringLength = maximumStringLength
        self.maximumTextLength = maximumTextLength
        self.maximumExtraFields = maximumExtraFields
        self.maximumRequiredFields = maximumRequiredFields
    }
}
