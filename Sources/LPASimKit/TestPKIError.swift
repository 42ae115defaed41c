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
        }
    }
}
