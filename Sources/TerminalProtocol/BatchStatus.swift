/// How an ``ApduBatch`` ended on the terminal: `serverlpa.terminal.v1.BatchStatus`.
///
/// Like ``ReasonCode`` the enum is open: unknown values are preserved and named `BATCH_STATUS_<n>`.
/// ``name`` is the proto value name and is used as-is in logs and metrics.
public struct BatchStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `BATCH_OK` (0): every APDU ran and ended with an accepted status word.
    public static let ok = BatchStatus(rawValue: 0)
    /// `BATCH_STOPPED` (1): the terminal stopped at an unaccepted status word; the last response
    /// carries it.
    public static let stopped = BatchStatus(rawValue: 1)
    /// `BATCH_CARD_ERROR` (2): the card or modem failed without a status word.
    public static let cardError = BatchStatus(rawValue: 2)
    /// `BATCH_REJECTED` (3): the terminal refused the batch (busy, bad channel); nothing ran.
    public static let rejected = BatchStatus(rawValue: 3)

    /// Every value declared in `proto/terminal.proto`, in proto order.
    public static let allKnown: [BatchStatus] = (0...3).map { BatchStatus(rawValue: $0) }

    private static let knownNames = ["BATCH_OK", "BATCH_STOPPED", "BATCH_CARD_ERROR", "BATCH_REJECTED"]

    /// True when this build declares the value.
    public var isKnown: Bool {
        Self.knownNames.indices.contains(Int(rawValue))
    }

    /// The proto value name (`BATCH_STOPPED`), or `BATCH_STATUS_<n>` for a value this build does not know.
    public var name: String {
        isKnown ? Self.knownNames[Int(rawValue)] : "BATCH_STATUS_\(rawValue)"
    }

    public var description: String { name }
}
