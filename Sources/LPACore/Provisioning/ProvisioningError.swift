import RSP

/// Why a provisioning step failed. `code` is stable and is what jobs store, logs print and metrics label.
public struct ProvisioningError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var step: String
    public var text: String
    /// The SGP.22 reason to give ES10b/ES9+ cancelSession when a session exists.
    public var cancelReason: CancelSessionReason

    public init(code: String, step: String, text: String, cancelReason: CancelSessionReason = .undefinedReason) {
        self.code = code
        self.step = step
        self.text = text
        self.cancelReason = cancelReason
    }

    public var description: String { "\(step): \(text) [\(code)]" }

    /// Failures of reachability (terminal, edge, SM-DP+ transport) rather than of the protocol: the job keeps
    /// its saved state and is tried again.
    public var isTransient: Bool {
        ["provisioning.transport", "terminal.offline", "OPERATOR_TRANSPORT", "OPERATOR_TIMEOUT"].contains(code)
    }

    /// Failures to reach the terminal (its session dropped, it moved to another edge or core): the job waits for
    /// the device however often that happens, since no download attempt was spent at the SM-DP+ on it.
    public var isTerminalUnreachable: Bool {
        ["provisioning.transport", "terminal.offline"].contains(code)
    }

    /// Wraps any error met in `step`, keeping the code of the known kinds.
    static func wrap(_ error: any Error, step: String, cancelReason: CancelSessionReason = .undefinedReason) -> ProvisioningError {
        if let known = error as? ProvisioningError { return known }
        if let rsp = error as? RSPError {
            return ProvisioningError(code: rsp.code, step: step, text: rsp.description, cancelReason: cancelReason)
        }
        if let coded = error as? any CodedError {
            return ProvisioningError(code: coded.errorCode, step: step, text: "\(error)", cancelReason: cancelReason)
        }
        return ProvisioningError(code: "provisioning.transport", step: step, text: "\(error)", cancelReason: cancelReason)
    }
}

/// An error that carries a stable code of its own (operator clients, transports).
public protocol CodedError: Error {
    var errorCode: String { get }
}
