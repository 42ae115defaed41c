import LPAOperator

/// The ES9+ functions the core calls on an SM-DP+ (``ES9PlusClient`` in production; scripted doubles in tests).
public protocol ES9PlusCalls: Sendable {
    func initiateAuthentication(euiccChallenge: [UInt8], euiccInfo1: [UInt8], smdpAddress: String?) async throws -> InitiateAuthenticationResponse
    func authenticateClient(transactionId: String, authenticateServerResponse: [UInt8]) async throws -> AuthenticateClientResponse
    func getBoundProfilePackage(transactionId: String, prepareDownloadResponse: [UInt8]) async throws -> GetBoundProfilePackageResponse
    func handleNotification(pendingNotification: [UInt8]) async throws
    func cancelSession(transactionId: String, cancelSessionResponse: [UInt8]) async throws
}

extension ES9PlusClient: ES9PlusCalls {}

extension ES9PlusError: CodedError {
    public var errorCode: String { code }
}

/// Finds the ES9+ client for an SM-DP+ address (the requirement's, or a notification's address).
public protocol ES9PlusDirectory: Sendable {
    func client(for smdpAddress: String) throws -> any ES9PlusCalls
}
