/// Why an SGP.22 object could not be read or built.
///
/// Every case names the object being handled (`BF38 AuthenticateServerResponse`, `ES9+ serverSigned1`, …) so a log
/// line says where the bytes were wrong. `code` is stable across releases and used in logs, metrics and job records.
public enum RSPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes are not one well-formed DER TLV (truncated, bad length, trailing data, too deep).
    case malformed(object: String, reason: String)
    /// The outer tag is not the one the object requires.
    case unexpectedTag(object: String, expected: UInt32, found: UInt32)
    /// A mandatory element is absent.
    case missingElement(object: String, tag: UInt32)
    /// An element is present but its value is out of range (wrong length, bad integer, bad string).
    case invalidValue(object: String, field: String, reason: String)
    /// The eUICC answered a command with its own error code (e.g. AuthenticateServer's authenticateErrorCode).
    case euiccError(command: String, code: Int)
    /// A status word that is not 90 00 ended an ES10 command.
    case statusWord(command: String, sw: UInt16)
    /// The Bound Profile Package does not have the structure SGP.22 §2.5.4 requires.
    case invalidBoundProfilePackage(reason: String)

    /// A short stable identifier for logs, metrics and stored job errors.
    public var code: String {
        switch self {
        case .malformed: return "rsp.malformed"
        case .unexpectedTag: return "rsp.unexpected_tag"
        case .missingElement: return "rsp.missing_element"
        case .invalidValue: return "rsp.invalid_value"
        case .euiccError: return "rsp.euicc_error"
        case .statusWord: return "rsp.status_word"
        case .invalidBoundProfilePackage: return "rsp.invalid_bpp"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let object, let reason):
            return "\(object): malformed DER (\(reason))"
        case .unexpectedTag(let object, let expected, let found):
            return "\(object): expected tag \(TLV.tagString(expected)), found \(TLV.tagString(found))"
        case .missingElement(let object, let tag):
            return "\(object): mandatory element \(TLV.tagString(tag)) is missing"
        case .invalidValue(let object, let field, let reason):
            return "\(object).\(field): \(reason)"
        case .euiccError(let command, let code):
            return "\(command): the eUICC answered with error code \(code)"
        case .statusWord(let command, let sw):
            return "\(command): status word \(StatusWord(sw))"
        case .invalidBoundProfilePackage(let reason):
            return "BF36 BoundProfilePackage: \(reason)"
        }
    }
}
