import LPAOperator

/// ES2+ as the core uses it for requirements that order first (`orderViaES2Plus`): reserve a profile of the
/// requirement's type for the device's EID and confirm it, which yields the matching ID the download presents.
public protocol ES2PlusOrdering: Sendable {
    /// Orders and confirms (released) a profile of `profileType` for `eid` at `smdpAddress`; returns the matching ID.
    func orderProfile(smdpAddress: String, eid: String, profileType: String) async throws -> String
}

extension OperatorDirectory: ES2PlusOrdering {
    public func orderProfile(smdpAddress: String, eid: String, profileType: String) async throws -> String {
        let client = try es2Client(for: smdpAddress)
        let iccid = try await client.downloadOrder(eid: eid, profileType: profileType)
        let confirmation = try await client.confirmOrder(iccid: iccid, eid: eid, releaseFlag: true)
        return confirmation.matchingId
    }
}
