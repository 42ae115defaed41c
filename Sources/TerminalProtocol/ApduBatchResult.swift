/// Terminal → server, the outcome of an ``ApduBatch`` (`serverlpa.terminal.v1.ApduBatchResult`).
///
/// `responses[i]` is the complete response to `apdus[i]`: the data of any GET RESPONSE chain, then
/// SW1 SW2. Only executed APDUs have a response, so after ``BatchStatus/stopped`` the last response
/// holds the status word that stopped the batch, and after ``BatchStatus/rejected`` there are none.
public struct ApduBatchResult: Sendable, Hashable {
    /// The ``ApduBatch/batchID`` this answers.
    public var batchID: UInt32
    public var status: BatchStatus
    public var responses: [[UInt8]]
    /// Free text from the terminal, e.g. why it rejected the batch.
    public var detail: String

    public init(batchID: UInt32 = 0, status: BatchStatus = .ok, responses: [[UInt8]] = [], detail: String = "") {
        self.batchID = batchID
        self.status = status
        self.responses = responses
        self.detail = detail
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.byteStrings(
            responses,
            countLimit: limits.maximumApdusPerBatch,
            lengthLimit: limits.maximumApduLength,
            field: "apdu_batch_result.responses"
        )
        try FieldRules.string(detail, limit: limits.maximumTextLength, field: "apdu_batch_result.detail")
    }
}
