/// A frame or message broke the terminal protocol.
///
/// Every case is a protocol violation by the sender of the bytes: the receiver answers with
/// ``reasonCode`` (``ReasonCode/protocolViolation``, or ``ReasonCode/invalidField`` for a refused
/// identity field) — ``Reject`` before the session is established,
/// ``Goodbye`` after — and closes the connection. ``description`` says what was wrong and where, for
/// logs and for the `text` of that Reject/Goodbye.
public enum TerminalProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A length prefix announced a body larger than the receiver's limit. Raised as soon as the
    /// prefix is read, before any of the body is buffered.
    case frameTooLarge(length: Int, limit: Int)

    /// A length prefix of zero. Every frame carries a body of at least two bytes.
    case emptyFrame

    /// The length prefix is not an unsigned LEB128 varint of at most three bytes.
    case malformedLengthPrefix

    /// The stream ended inside a frame. `expected` is the size of the whole frame (prefix and body),
    /// nil when the stream ended inside the length prefix itself; `available` is what arrived of it.
    case truncatedFrame(expected: Int?, available: Int)

    /// The body is not a parseable `serverlpa.terminal.v1.Frame` (bad wire types, lengths past the
    /// end, unterminated varints).
    case malformedMessage(detail: String)

    /// The body parsed but carries no message (`Frame.body` is not set).
    case missingBody

    /// The body carries only a `Frame` member this version does not define, e.g. a message kind
    /// from a newer protocol version.
    case unknownBody(fieldNumber: UInt32)

    /// A field's value is out of range or not allowed. `name` is the proto path of the field
    /// (`apdu_batch.apdus[3]`, `hello.identity.eid`).
    case invalidField(name: String, reason: String)

    /// The code sent to the peer and used in logs and metrics: ``ReasonCode/invalidField`` for an
    /// identity field (`hello.identity.*`, `hello.agent`) the protocol refuses, such as one carrying a
    /// control character; ``ReasonCode/protocolViolation`` for everything else.
    public var reasonCode: ReasonCode {
        if case .invalidField(let name, _) = self, name.hasPrefix("hello.identity.") || name == "hello.agent" {
            return .invalidField
        }
        return .protocolViolation
    }

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let limit):
            return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .emptyFrame:
            return "zero-length frame"
        case .malformedLengthPrefix:
            return "length prefix continues past \(LengthPrefix.maximumByteCount) bytes"
        case .truncatedFrame(let expected?, let available):
            return "stream ended inside a frame: \(available) of \(expected) bytes arrived"
        case .truncatedFrame(nil, let available):
            return "stream ended inside a length prefix after \(available) bytes"
        case .malformedMessage(let detail):
            return "malformed frame body: \(detail)"
        case .missingBody:
            return "frame carries no message"
        case .unknownBody(let fieldNumber):
            return "frame carries message field \(fieldNumber), which protocol version \(TerminalProtocolVersion.current) does not define"
        case .invalidField(let name, let reason):
            return "invalid \(name): \(reason)"
        }
    }
}
