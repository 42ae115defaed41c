import Foundation
import LPACrypto
import RSP

/// One RSP session of the simulated SM-DP+ (internal state of `SMDPSimulator`), from initiateAuthentication to
/// the ProfileInstallationResult. Each ES9+ function moves it one step; a function called out of turn finds
/// no session in the state it needs, which is how challenges and transactions are used only once.
struct SMDPSession: Sendable {
    enum Phase: Sendable {
        /// After initiateAuthentication: waits for authenticateClient.
        case initiated
        /// After authenticateClient: waits for getBoundProfilePackage.
        case authenticated
        /// The BPP was delivered: waits for the ProfileInstallationResult (or cancelSession).
        case packageDelivered
    }

    let transactionId: [UInt8]
    let transactionIdHex: String
    let serverChallenge: [UInt8]
    let euiccChallenge: [UInt8]
    let startedAt: Date
    var phase: Phase = .initiated

    // Known after authenticateClient.
    var euiccCertificate: Certificate?
    var eid: String?
    var iccid: String?
    var metadata: StoreMetadataRequest?
    var smdpSignature2Object: [UInt8] = []
}
