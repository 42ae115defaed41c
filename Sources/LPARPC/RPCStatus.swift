/// The outcome of a call, with the same codes and numbers as gRPC so that logs, metrics and
/// dashboards read alike across RPC systems. Carried on the wire as a `u16` in RESPONSE and GOAWAY
/// frames; a number this version does not know decodes as ``unknown``.
public enum RPCStatus: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The call succeeded.
    case ok = 0
    /// The caller cancelled the call.
    case cancelled = 1
    /// An error that fits no other code.
    case unknown = 2
    /// The request was malformed (for example its body could not be decoded).
    case invalidArgument = 3
    /// The deadline passed before the call completed.
    case deadlineExceeded = 4
    /// Something the request names does not exist (for example a terminal with no session).
    case notFound = 5
    /// Something the request would create exists already.
    case alreadyExists = 6
    /// The caller may not do this.
    case permissionDenied = 7
    /// A limit was reached: too many calls in flight, a message too large.
    case resourceExhausted = 8
    /// The system is not in a state in which the call can run.
    case failedPrecondition = 9
    /// The call was aborted, typically by a concurrency conflict; retry at a higher level.
    case aborted = 10
    /// A value is outside its valid range.
    case outOfRange = 11
    /// The peer serves no such method.
    case unimplemented = 12
    /// An invariant was broken: a bug, on either side.
    case `internal` = 13
    /// The peer or the connection is unavailable; the call did not run, or its fate is unknown
    /// when the connection was lost while it was in flight.
    case unavailable = 14
    /// Data was lost or corrupted.
    case dataLoss = 15
    /// The caller is not authenticated.
    case unauthenticated = 16

    /// Decodes a wire value; numbers this version does not know become ``unknown``.
    public init(wireValue: UInt16) {
        self = RPCStatus(rawValue: wireValue) ?? .unknown
    }

    /// The stable name of the code (`OK`, `DEADLINE_EXCEEDED`, …), as gRPC spells it. Use it as the
    /// error code in logs, metrics and admin output.
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        }
    }

    public var description: String { name }
}
