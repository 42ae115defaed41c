import TerminalProtocol

/// Runs an ``ApduBatch`` the way the device agent must: in order, on the batch's channel,
/// answering `61xx` with GET RESPONSE until the response is complete, and stopping at the first
/// status word the batch does not accept (`9000` and `61xx` by default, `91xx` always).
public enum ApduBatchExecutor {
    /// Executes `batch` on `card`.
    public static func execute(_ batch: ApduBatch, on card: SimulatedCard) -> ApduBatchResult {
        var responses: [[UInt8]] = []
        responses.reserveCapacity(batch.apdus.count)
        for apdu in batch.apdus {
            guard apdu.count >= 4 else {
                return ApduBatchResult(batchID: batch.batchID, status: .rejected, responses: responses,
                                       detail: "APDU \(responses.count) is shorter than a header")
            }
            var response = card.transmit(apdu)
            var data: [UInt8] = []
            var guardCount = 0
            while response.count >= 2, response[response.count - 2] == 0x61, guardCount < 256 {
                data.append(contentsOf: response.dropLast(2))
                let le = response[response.count - 1]
                response = card.transmit([getResponseClass(for: apdu[0]), 0xC0, 0x00, 0x00, le])
                guardCount += 1
            }
            guard response.count >= 2 else {
                return ApduBatchResult(batchID: batch.batchID, status: .cardError, responses: responses,
                                       detail: "card returned no status word")
            }
            data.append(contentsOf: response)
            responses.append(data)
            let sw = UInt16(response[response.count - 2]) << 8 | UInt16(response[response.count - 1])
            if !accepts(sw, batch.acceptSW) {
                return ApduBatchResult(batchID: batch.batchID, status: .stopped, responses: responses,
                                       detail: "stopped at status word \(String(sw, radix: 16, uppercase: true))")
            }
        }
        return ApduBatchResult(batchID: batch.batchID, status: .ok, responses: responses, detail: "")
    }

    /// GET RESPONSE travels on the command's logical channel: keep the class byte's channel and
    /// proprietary bits, drop chaining and secure messaging.
    static func getResponseClass(for cla: UInt8) -> UInt8 {
        cla & 0x40 != 0 ? cla & 0xCF : cla & 0x83
    }

    static func accepts(_ sw: UInt16, _ accepted: [UInt16]) -> Bool {
        if sw & 0xFF00 == 0x9100 { return true }
        if accepted.isEmpty { return sw == 0x9000 }
        return accepted.contains(sw)
    }
}
