import RSP

extension VirtualEUICC {
    // MARK: EnableProfile, DisableProfile, DeleteProfile (§5.9.1–5.9.3)

    /// The index of the profile `identifier` names.
    private func index(of identifier: ProfileIdentifier) -> Int? {
        snapshot.profiles.firstIndex { profile in
            switch identifier {
            case .iccid(let iccid): return profile.iccid == iccid
            case .isdpAid(let aid): return profile.isdpAid == aid
            }
        }
    }

    func enableProfile(_ tlv: TLV) -> Answer {
        guard let request = try? ES10c.parseSwitchRequest(tlv) else { return .status(0x6A80) }
        func result(_ code: ES10c.ResultCode) -> Answer { .ok(ES10c.resultResponse(tag: RSPTag.enableProfile, code: code.rawValue)) }
        guard let target = index(of: request.profile) else { return result(.iccidOrAidNotFound) }
        guard !snapshot.profiles[target].enabled else { return result(.profileNotInExpectedState) }
        // Only one profile is enabled: enabling one disables the current one (each with its notification).
        if let current = snapshot.profiles.firstIndex(where: { $0.enabled }) {
            update { $0.profiles[current].enabled = false }
            notify(.disable, for: snapshot.profiles[current])
        }
        update { $0.profiles[target].enabled = true }
        notify(.enable, for: snapshot.profiles[target])
        if request.refresh { refreshRequested = true }
        onEnabledProfileChange?(snapshot.enabledICCID, request.refresh)
        return result(.ok)
    }

    func disableProfile(_ tlv: TLV) -> Answer {
        guard let request = try? ES10c.parseSwitchRequest(tlv) else { return .status(0x6A80) }
        func result(_ code: ES10c.ResultCode) -> Answer { .ok(ES10c.resultResponse(tag: RSPTag.disableProfile, code: code.rawValue)) }
        guard let target = index(of: request.profile) else { return result(.iccidOrAidNotFound) }
        guard snapshot.profiles[target].enabled else { return result(.profileNotInExpectedState) }
        update { $0.profiles[target].enabled = false }
        notify(.disable, for: snapshot.profiles[target])
        if request.refresh { refreshRequested = true }
        onEnabledProfileChange?(nil, request.refresh)
        return result(.ok)
    }

    func deleteProfile(_ tlv: TLV) -> Answer {
        guard let identifier = try? ES10c.parseDeleteRequest(tlv) else { return .status(0x6A80) }
        func result(_ code: ES10c.ResultCode) -> Answer { .ok(ES10c.resultResponse(tag: RSPTag.deleteProfile, code: code.rawValue)) }
        guard let target = index(of: identifier) else { return result(.iccidOrAidNotFound) }
        guard !snapshot.profiles[target].enabled else { return result(.profileNotInExpectedState) }
        let profile = snapshot.profiles[target]
        update { $0.profiles.remove(at: target) }
        notify(.delete, for: profile)
        return result(.ok)
    }

    /// Queues a signed OtherSignedNotification of `event` when the profile's metadata asks for it.
    private func notify(_ event: NotificationEvent, for profile: InstalledProfile) {
        guard let address = profile.address(for: event) else { return }
        let metadata = NotificationMetadata(
            seqNumber: nextSequenceNumber(), event: event, notificationAddress: address, iccid: profile.iccid
        )
        guard let signature = sign(metadata.der) else { return }
        let notification = OtherSignedNotification(
            metadata: metadata, signature: signature,
            euiccCertificate: identity.euiccCertificate.der, eumCertificate: identity.eumCertificate.der
        )
        queueNotification(notification.encoded)
    }
}
