import RSP

/// The eUICC side of ES10b.LoadBoundProfilePackage after InitialiseSecureChannel: a state machine that takes
/// the package's commands in the order of SGP.22 §2.5.5 — `[A0 whole]`, `[A1 header]`, `[each 88]`,
/// `[A2 whole]` (optional), `[A3 header]`, `[each 86]` — verifies and decrypts them with the BSP session
/// keys, and reports when the last `86` has arrived (known from the `A3` length).
///
/// A plain value: `VirtualEUICC` owns one per download and turns its steps into answers.
struct BoundProfilePackageLoader {
    /// The tags of the commands that follow InitialiseSecureChannel.
    static let segmentTags: Set<UInt32> = [0xA0, 0xA1, 0x88, 0xA2, 0xA3, 0x86]

    enum Stage: Equatable {
        case configureISDP
        case metadataHeader
        case metadata(remaining: Int)
        case afterMetadata
        case afterReplaceSessionKeys
        case profileElements(remaining: Int)
        case finished
    }

    /// What a command led to.
    enum Step: Equatable {
        /// Accepted; more commands are expected.
        case accepted
        /// The last `86` was accepted: the metadata and the decrypted Unprotected Profile Package.
        case complete(metadata: StoreMetadataRequest, profilePackage: [UInt8])
        /// Refused: the package is over.
        case failed(BppCommandId, InstallationErrorReason)
    }

    private(set) var stage = Stage.configureISDP
    private var bsp: BSPSession
    /// Bytes of the `BF36` value still to come.
    private var packageRemaining: Int
    private let installedICCIDs: Set<String>
    private var metadataBytes: [UInt8] = []
    private(set) var metadata: StoreMetadataRequest?
    private var profilePackage: [UInt8] = []

    init(bsp: BSPSession, packageRemaining: Int, installedICCIDs: Set<String>) {
        self.bsp = bsp
        self.packageRemaining = packageRemaining
        self.installedICCIDs = installedICCIDs
    }

    /// The `BppCommandId` errors at the current stage are reported under.
    var commandId: BppCommandId {
        switch stage {
        case .configureISDP: return .configureISDP
        case .metadataHeader, .metadata: return .storeMetadata
        case .afterMetadata: return .replaceSessionKeys
        case .afterReplaceSessionKeys: return .loadProfileElements
        case .profileElements, .finished: return .loadProfileElements
        }
    }

    mutating func process(_ command: [UInt8], header: PartialTLVHeader) -> Step {
        let step = advance(command, header: header)
        if case .failed = step { stage = .finished }
        return step
    }

    private mutating func advance(_ command: [UInt8], header: PartialTLVHeader) -> Step {
        packageRemaining -= command.count
        guard packageRemaining >= 0 else { return .failed(commandId, .scp03tStructureError) }
        switch (stage, header.tag) {
        case (.configureISDP, 0xA0):
            guard let plain = decryptAll(command, tag: 0xA0) else { return failure }
            guard (try? TLV(der: plain, object: "BF24 ConfigureISDPRequest").expect(RSPTag.configureISDP, object: "")) != nil else {
                return .failed(.configureISDP, .scp03tStructureError)
            }
            stage = .metadataHeader
            return .accepted
        case (.metadataHeader, 0xA1):
            guard header.headerLength == command.count, header.length > 0 else {
                return .failed(.storeMetadata, .scp03tStructureError)
            }
            stage = .metadata(remaining: header.length)
            return .accepted
        case (.metadata(let remaining), 0x88):
            guard let (payload, left) = open(command, remaining: remaining, decrypt: false) else { return failure }
            metadataBytes += payload
            guard left == 0 else {
                stage = .metadata(remaining: left)
                return .accepted
            }
            guard let parsed = try? StoreMetadataRequest(der: metadataBytes) else {
                return .failed(.storeMetadata, .scp03tStructureError)
            }
            guard !installedICCIDs.contains(parsed.iccid) else { return .failed(.storeMetadata, .iccidAlreadyExistsOnEuicc) }
            metadata = parsed
            stage = .afterMetadata
            return .accepted
        case (.afterMetadata, 0xA2):
            guard let plain = decryptAll(command, tag: 0xA2) else { return failure }
            guard let keys = try? PackageCommands.parseReplaceSessionKeys(plain) else {
                return .failed(.replaceSessionKeys, .scp03tStructureError)
            }
            // The profile's own keys replace the session keys; the block counter starts again.
            bsp = BSPSession(sEnc: keys.ppkEnc, sMac: keys.ppkCmac, initialMacChainingValue: keys.initialMCV)
            stage = .afterReplaceSessionKeys
            return .accepted
        case (.afterMetadata, 0xA3), (.afterReplaceSessionKeys, 0xA3):
            guard header.headerLength == command.count, header.length > 0, header.length == packageRemaining else {
                return .failed(.loadProfileElements, .scp03tStructureError)
            }
            stage = .profileElements(remaining: header.length)
            return .accepted
        case (.profileElements(let remaining), 0x86):
            guard let (payload, left) = open(command, remaining: remaining, decrypt: true) else { return failure }
            profilePackage += payload
            guard left == 0 else {
                stage = .profileElements(remaining: left)
                return .accepted
            }
            // The header is read for its structure only: for a full profile the eUICC does not compare the
            // header's ICCID with the metadata (the Profile Package specification leaves it informative).
            guard let metadata, (try? ProfilePackage(headerOf: profilePackage)) != nil,
                  (try? ProfilePackage.elements(of: profilePackage)) != nil
            else { return .failed(.loadProfileElements, .peProcessingError) }
            stage = .finished
            return .complete(metadata: metadata, profilePackage: profilePackage)
        default:
            return .failed(commandId, .scp03tStructureError)
        }
    }

    private var failure: Step { .failed(commandId, lastFailure) }
    private var lastFailure = InstallationErrorReason.scp03tStructureError

    /// Verifies and decrypts every `87` of a whole `A0`/`A2` command; `nil` (with `lastFailure` set) on error.
    private mutating func decryptAll(_ command: [UInt8], tag: UInt32) -> [UInt8]? {
        lastFailure = .scp03tStructureError
        guard let sequence = try? TLV(der: command, object: "BPP sequence"), sequence.tag == tag,
              !sequence.children.isEmpty, sequence.children.allSatisfy({ $0.tag == 0x87 })
        else { return nil }
        var plain: [UInt8] = []
        for segment in sequence.children {
            do {
                plain += try bsp.verifyAndDecrypt(Array(segment.encoded))
            } catch {
                lastFailure = Self.reason(error)
                return nil
            }
        }
        return plain
    }

    /// Opens one `88` or `86` segment of a sequence whose header announced `remaining` more bytes: returns its
    /// payload and the bytes still announced; `nil` (with `lastFailure` set) when it does not fit, is not one
    /// TLV or does not verify.
    private mutating func open(_ command: [UInt8], remaining: Int, decrypt: Bool) -> (payload: [UInt8], remaining: Int)? {
        lastFailure = .scp03tStructureError
        guard command.count <= remaining, (try? TLV(der: command, object: "BPP segment")) != nil else { return nil }
        do {
            let payload = decrypt ? try bsp.verifyAndDecrypt(command) : try bsp.verifyOnly(command)
            return (payload, remaining - command.count)
        } catch {
            lastFailure = Self.reason(error)
            return nil
        }
    }

    /// A MAC that does not verify is a security error; anything else about a segment is a structure error.
    static func reason(_ failure: BSPSession.Failure) -> InstallationErrorReason {
        if case .macMismatch = failure { return .scp03tSecurityError }
        return .scp03tStructureError
    }
}
