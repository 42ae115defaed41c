import Foundation
import LPACrypto
import RSP

/// A virtual eUICC: the ISD-R of SGP.22 v2.2 (ES10a/b/c) behind the APDU interface of `SimulatedCard`, so the
/// simulated terminals carry it exactly as a device agent carries a modem's eUICC.
///
/// What it does, in the order an LPA uses it:
/// - logical channels (MANAGE CHANNEL through `openLogicalChannel`/`closeLogicalChannel` or as APDUs), SELECT of
///   the ISD-R by AID, STORE DATA reassembly per channel (P1 `11`/`91`, P2 block numbers from `00`) and GET
///   RESPONSE chunking of answers longer than 256 bytes (`61xx`);
/// - ES10b: GetEuiccChallenge, GetEuiccInfo1/2, AuthenticateServer, PrepareDownload, LoadBoundProfilePackage
///   (command by command as SGP.22 §2.5.5 splits the package), ListNotification, RetrieveNotificationsList,
///   RemoveNotificationFromList, CancelSession;
/// - ES10c: EnableProfile, DisableProfile, DeleteProfile, GetProfilesInfo, GetEID (GetEuiccData with tag `5A`).
///
/// Every check of the specification that decides between success and an error code is made with real
/// cryptography (certificate paths to the CI, role policies, ECDSA signatures, ECDH and the SCP03t BPP
/// protection), so an LPA or SM-DP+ bug shows up as the error a real eUICC would return.
///
/// Status words: `9000` success (with data), `61xx` more data for GET RESPONSE, `6700` wrong length, `6881`
/// channel not open, `6A82` AID not found, `6A86` wrong P1/P2 (STORE DATA block out of order), `6A80` an ES10
/// command that is not DER, `6A88` an unknown ES10 command, `6985` a command that needs a session there is not
/// (a load command without PrepareDownload, GET RESPONSE with nothing pending), `6D00` unknown instruction,
/// `6E00` wrong class, `6F00` an internal failure (OpenSSL). Nothing any input does traps.
///
/// Persistent state (`Snapshot`) is kept per EID and, when `Configuration.stateDirectory` is set, written
/// atomically after every change and read back at start.
///
/// Not thread-safe: use one instance from one event loop or task at a time (as `SimulatedCard` requires).
public final class VirtualEUICC: SimulatedCard {
    /// What an eUICC build reports and signs with, beyond its identity.
    public struct Configuration: Sendable {
        /// The SM-DP+ OID (DER value of the OBJECT IDENTIFIER) put in ProfileInstallationResultData and
        /// CancelSession answers. The default is `2.999.10`, an example arc.
        public var smdpOid: [UInt8] = [0x88, 0x37, 0x0A]
        /// `svn`: the SGP.22 version reported in EUICCInfo1/2.
        public var svn: [UInt8] = [0x02, 0x02, 0x02]
        /// Where the snapshot is kept (`<EID>.json`); `nil` keeps state in memory only.
        public var stateDirectory: URL?

        public init(stateDirectory: URL? = nil) {
            self.stateDirectory = stateDirectory
        }
    }

    public let identity: Identity
    public let configuration: Configuration
    /// The persistent state.
    public private(set) var snapshot: Snapshot
    /// The last failure to write the snapshot, if any (the card keeps working from memory).
    public private(set) var persistenceError: String?
    /// Called after every change of the enabled profile with the new enabled ICCID (or `nil`) and the refresh
    /// flag of the command; a simulated terminal reconnects on it, as a device does after a REFRESH.
    public var onEnabledProfileChange: ((_ iccid: String?, _ refresh: Bool) -> Void)?
    /// Set when an enable or disable asked for a REFRESH; cleared by ``takeRefreshRequest()``.
    var refreshRequested = false

    /// Whether a profile switch asked the device to refresh since the last call.
    public func takeRefreshRequest() -> Bool {
        defer { refreshRequested = false }
        return refreshRequested
    }

    /// The EID (32 digits).
    public var eid: String { identity.eid }
    /// The ICCID of the enabled profile, which a device reports as its current ICCID.
    public var enabledICCID: String? { snapshot.enabledICCID }
    /// The installed profiles.
    public var profiles: [InstalledProfile] { snapshot.profiles }

    // Volatile state. The basic channel (0) is always open, with nothing selected.
    var channels: [UInt8: ChannelState] = [0: ChannelState()]
    var challenge: [UInt8]?
    var session: DownloadSession?
    var loader: BoundProfilePackageLoader?
    private let store: SnapshotStore?

    /// A card with `identity`; when `configuration.stateDirectory` holds a snapshot for its EID, that state
    /// is restored (an unreadable snapshot is reported in `persistenceError` and the card starts empty).
    public init(identity: Identity, configuration: Configuration = Configuration()) {
        self.identity = identity
        self.configuration = configuration
        store = configuration.stateDirectory.map(SnapshotStore.init(directory:))
        snapshot = Snapshot(eid: identity.eid)
        if let store {
            do {
                if let stored = try store.load(eid: identity.eid) { snapshot = stored }
            } catch {
                persistenceError = "reading \(store.url(eid: identity.eid).path): \(error)"
            }
        }
    }

    /// Applies a change to the persistent state and writes it.
    func update(_ change: (inout Snapshot) -> Void) {
        change(&snapshot)
        if let store {
            do {
                try store.save(snapshot)
                persistenceError = nil
            } catch {
                persistenceError = "writing \(store.url(eid: snapshot.eid).path): \(error)"
            }
        }
    }

    // MARK: - SimulatedCard

    /// The per-channel APDU state: whether the ISD-R is selected, the STORE DATA blocks received so far,
    /// and the answer GET RESPONSE is draining.
    struct ChannelState {
        var selected = false
        var nextBlock = 0
        var buffer: [UInt8] = []
        var pendingResponse: [UInt8] = []
    }

    public func openLogicalChannel(aid: [UInt8]) -> (channel: UInt8, sw: UInt16, response: [UInt8]) {
        guard let channel = (1...19).map(UInt8.init).first(where: { channels[$0] == nil }) else {
            return (0, 0x6A81, [])
        }
        guard aid == ISDR.aid else { return (0, 0x6A82, []) }
        channels[channel] = ChannelState(selected: true)
        return (channel, 0x9000, [])
    }

    public func closeLogicalChannel(_ channel: UInt8) -> UInt16 {
        guard channel != 0 else { return 0x6A86 }
        return channels.removeValue(forKey: channel) == nil ? 0x6881 : 0x9000
    }

    public func transmit(_ apdu: [UInt8]) -> [UInt8] {
        let (data, sw) = handle(apdu)
        return data + [UInt8(sw >> 8), UInt8(sw & 0xFF)]
    }

    /// The logical channel an ISO 7816-4 class byte addresses, `nil` for a class this card does not know.
    static func channel(ofClass cla: UInt8) -> UInt8? {
        switch cla & 0xC0 {
        case 0x00, 0x80: return cla & 0x20 == 0 ? cla & 0x03 : nil
        case 0x40, 0xC0: return 4 + (cla & 0x0F)
        default: return nil
        }
    }

    private func handle(_ apdu: [UInt8]) -> (data: [UInt8], sw: UInt16) {
        guard apdu.count >= 4 else { return ([], 0x6700) }
        let cla = apdu[0], ins = apdu[1], p1 = apdu[2], p2 = apdu[3]
        guard cla != 0xFF, let channel = Self.channel(ofClass: cla) else { return ([], 0x6E00) }
        // Short APDU cases 1–4; extended lengths are not supported.
        var body: [UInt8] = []
        var le: Int?
        if apdu.count == 5 {
            le = apdu[4] == 0 ? 256 : Int(apdu[4])
        } else if apdu.count > 5 {
            let lc = Int(apdu[4])
            guard lc > 0, apdu.count == 5 + lc || apdu.count == 6 + lc else { return ([], 0x6700) }
            body = Array(apdu[5..<(5 + lc)])
            if apdu.count == 6 + lc { le = apdu[5 + lc] == 0 ? 256 : Int(apdu[5 + lc]) }
        }

        if ins == 0x70 { return manageChannel(p1: p1, p2: p2, on: channel) }
        guard var state = channels[channel] else { return ([], 0x6881) }
        defer { channels[channel] = state }
        switch ins {
        case 0xA4:
            guard p1 == 0x04 else { return ([], 0x6A86) }
            guard body == ISDR.aid else {
                state = ChannelState()
                return ([], 0x6A82)
            }
            state = ChannelState(selected: true)
            return ([], 0x9000)
        case 0xC0:
            guard !state.pendingResponse.isEmpty else { return ([], 0x6985) }
            return Self.chunk(&state.pendingResponse, limit: le ?? 256)
        case 0xE2:
            guard cla & 0x80 != 0 else { return ([], 0x6E00) }
            guard state.selected else { return ([], 0x6985) }
            guard p1 == 0x11 || p1 == 0x91 else { return ([], 0x6A86) }
            if p2 == 0 {
                state.buffer = []
                state.nextBlock = 0
            }
            guard Int(p2) == state.nextBlock else {
                state.buffer = []
                state.nextBlock = 0
                return ([], 0x6A86)
            }
            state.pendingResponse = []
            state.buffer += body
            state.nextBlock += 1
            guard p1 == 0x91 else { return ([], 0x9000) }
            let command = state.buffer
            state.buffer = []
            state.nextBlock = 0
            // The command may touch other channels' state through `self`; write this one back first.
            channels[channel] = state
            let answer = dispatch(command)
            state = channels[channel] ?? state
            guard answer.sw == 0x9000 else { return ([], answer.sw) }
            state.pendingResponse = answer.data
            return Self.chunk(&state.pendingResponse, limit: 256)
        default:
            return ([], 0x6D00)
        }
    }

    /// MANAGE CHANNEL (`INS 70`): P1 `00` opens the lowest free channel (answering its number), P1 `80`
    /// closes the channel in P2. A channel opened this way has nothing selected until a SELECT.
    private func manageChannel(p1: UInt8, p2: UInt8, on channel: UInt8) -> (data: [UInt8], sw: UInt16) {
        switch p1 {
        case 0x00:
            guard p2 == 0 else { return ([], 0x6A86) }
            guard let free = (1...19).map(UInt8.init).first(where: { channels[$0] == nil }) else { return ([], 0x6A81) }
            channels[free] = ChannelState()
            return ([free], 0x9000)
        case 0x80:
            guard p2 != 0, channels.removeValue(forKey: p2) != nil else { return ([], 0x6881) }
            return ([], 0x9000)
        default:
            return ([], 0x6A86)
        }
    }

    /// Takes up to `limit` bytes off the front of `pending`: `9000` when nothing remains, else `61xx` with
    /// the remaining count (`00` for 256 or more).
    static func chunk(_ pending: inout [UInt8], limit: Int) -> (data: [UInt8], sw: UInt16) {
        let count = min(limit, pending.count)
        let data = Array(pending.prefix(count))
        pending.removeFirst(count)
        if pending.isEmpty { return (data, 0x9000) }
        return (data, 0x6100 | UInt16(pending.count >= 256 ? 0 : pending.count))
    }

    // MARK: - ES10 dispatch

    /// The outcome of one ES10 command: response data for `9000`, or a status word alone.
    struct Answer {
        var data: [UInt8]
        var sw: UInt16

        static func ok(_ data: [UInt8]) -> Answer { Answer(data: data, sw: 0x9000) }
        static func status(_ sw: UInt16) -> Answer { Answer(data: [], sw: sw) }
    }

    private func dispatch(_ command: [UInt8]) -> Answer {
        guard let header = PartialTLVHeader(command) else { return .status(0x6A80) }
        if header.tag == RSPTag.boundProfilePackage || BoundProfilePackageLoader.segmentTags.contains(header.tag) {
            return loadBoundProfilePackage(command, header: header)
        }
        let tlv: TLV
        do {
            tlv = try TLV(der: command, object: "ES10 command")
        } catch {
            return .status(0x6A80)
        }
        switch tlv.tag {
        case RSPTag.getEuiccChallenge: return getEuiccChallenge()
        case RSPTag.getEuiccInfo1: return .ok(euiccInfo1.der)
        case RSPTag.getEuiccInfo2: return .ok(euiccInfo2.der)
        case RSPTag.authenticateServer: return authenticateServer(command)
        case RSPTag.prepareDownload: return prepareDownload(command)
        case RSPTag.cancelSession: return cancelSession(tlv)
        case RSPTag.listNotification: return listNotification(tlv)
        case RSPTag.retrieveNotificationsList: return retrieveNotificationsList(tlv)
        case RSPTag.notificationSent: return removeNotification(tlv)
        case RSPTag.enableProfile: return enableProfile(tlv)
        case RSPTag.disableProfile: return disableProfile(tlv)
        case RSPTag.deleteProfile: return deleteProfile(tlv)
        case RSPTag.profileInfoList: return getProfilesInfo(tlv)
        case RSPTag.getEuiccData: return getEuiccData(tlv)
        default: return .status(0x6A88)
        }
    }

    /// GetProfilesInfo: every profile, or those matching `searchCriteria [0]` (ISD-P AID, ICCID or profile
    /// class). The tag list is not honoured: every ProfileInfo carries the same fields.
    private func getProfilesInfo(_ tlv: TLV) -> Answer {
        var profiles = snapshot.profiles.map(\.info)
        if let criteria = tlv.child(0xA0) {
            guard let criterion = criteria.children.first else { return .status(0x6A80) }
            switch criterion.tag {
            case RSPTag.aid: profiles = profiles.filter { $0.isdpAid == criterion.bytes }
            case RSPTag.iccid: profiles = profiles.filter { BCD.swapped($0.iccid, byteCount: 10) == criterion.bytes }
            case 0x95:
                guard let profileClass = try? criterion.integer(field: "profileClass", in: "BF2D") else { return .status(0x6A80) }
                profiles = profiles.filter { $0.profileClass == profileClass }
            default: return .status(0x6A80)
            }
        }
        return .ok(ProfileInfo.listResponse(profiles))
    }

    private func getEuiccData(_ tlv: TLV) -> Answer {
        // GetEuiccDataRequest { tagList [APPLICATION 28] }: only the EID (5A) is defined.
        guard let list = tlv.child(RSPTag.tagList), list.bytes == [0x5A] else { return .status(0x6A80) }
        return .ok(ES10c.eidResponse(eid))
    }

    /// Signs `data` with the eUICC key; `nil` when OpenSSL fails.
    func sign(_ data: [UInt8]) -> [UInt8]? {
        try? ECDSA.sign(data, with: identity.privateKey, format: .raw)
    }
}

/// The tag and length at the start of a command whose value may not follow (the `BF36`, `A1` and `A3`
/// headers of a Bound Profile Package travel alone). Refuses indefinite lengths and tags over 3 bytes.
struct PartialTLVHeader {
    let tag: UInt32
    let length: Int
    let headerLength: Int

    init?(_ bytes: [UInt8]) {
        var index = 0
        func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }
        guard let first = next() else { return nil }
        var tag = UInt32(first)
        if first & 0x1F == 0x1F {
            var count = 0
            while true {
                guard let byte = next(), count < 2 else { return nil }
                tag = tag << 8 | UInt32(byte)
                count += 1
                if byte & 0x80 == 0 { break }
            }
        }
        guard let lengthByte = next() else { return nil }
        var length = Int(lengthByte)
        if lengthByte & 0x80 != 0 {
            let count = Int(lengthByte & 0x7F)
            guard (1...3).contains(count) else { return nil }
            length = 0
            for _ in 0..<count {
                guard let byte = next() else { return nil }
                length = length << 8 | Int(byte)
            }
        }
        self.tag = tag
        self.length = length
        headerLength = index
    }
}
