import LPACrypto
import LPAIdentity

/// Why a test PKI could not be created or loaded. Each case names the file (or device) involved.
public enum TestPKIError: Error, Sendable, CustomStringConvertible {
    /// The directory already holds a PKI and overwriting was not requested.
    case alreadyExists(path: String)
    /// The requested number of devices is out of range.
    case invalidDeviceCount(Int, maximum: Int)
    /// A parameter (device model, numbering) cannot be used; `reason` says why.
    case invalidParameter(name: String, reason: String)
    /// A file or directory could not be read or written.
    case fileSystem(path: String, reason: String)
    /// A key or certificate could not be made; `what` names it (for example "device 89049032…").
    case crypto(what: String, CryptoError)
    /// An identifier could not be generated or, when loading, is invalid.
    case identity(what: String, IdentityError)
    /// `devices.csv` is malformed at `line` (1-based).
    case malformedInventory(path: String, line: Int, reason: String)
    /// An eUICC certificate was requested for an EID outside the EUM's range: SGP.22 requires the EID to begin
    /// with the EUM's IIN (or EIN), `prefix`.
    case eidOutsideEUM(eid: String, organization: String, prefix: String)
    /// Files of an RSP test PKI are missing or do not belong together; `reason` says which and why.
    case inconsistentFiles(directory: String, reason: String)

    /// A stable code for logs and `--json` output.
    public var code: String {
        switch self {
        case .alreadyExists: "pki.already_exists"
        case .invalidDeviceCount: "pki.invalid_device_count"
        case .invalidParameter: "pki.invalid_parameter"
        case .fileSystem: "pki.file_system"
        case .crypto: "pki.crypto"
        case .identity: "pki.identity"
        case .malformedInventory: "pki.malformed_inventory"
        case .eidOutsideEUM: "pki.eid_outside_eum"
        case .inconsistentFiles: "pki.inconsistent_files"
        }
    }

    public var description: String {
        switch self {
        case .alreadyExists(let path):
            "\(path) already holds a test PKI; pass overwrite (--force) to replace it"
        case .invalidDeviceCount(let count, let maximum):
            "cannot create \(count) devices: the count must be between 0 and \(maximum)"
        case .invalidParameter(let name, let reason):
            "\(name): \(reason)"
        case .fileSystem(let path, let reason):
            "\(path): \(reason)"
        case .crypto(let what, let error):
            "\(what): \(error)"
        case .identity(let what, let error):
            "\(what): \(error)"
        case .malformedInventory(let path, let line, let reason):
            "\(path):\(line): \(reason)"
        case .eidOutsideEUM(let eid, let organization, let prefix):
            "EID \(eid) is outside EUM \"\(organization)\": its EIDs must begin with \(prefix); "
                + "choose an EID with that prefix or an EUM whose IIN prefixes it"
        case .inconsistentFiles(let directory, let reason):
            "\(directory): \(reason)"
        }
    }
}
