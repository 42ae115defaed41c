import Foundation
import RSP

extension VirtualEUICC {
    /// One installed profile, as the ISD-R keeps it.
    public struct InstalledProfile: Sendable, Hashable, Codable {
        /// Where a profile wants its notifications of one event sent (StoreMetadata
        /// `notificationConfigurationInfo`).
        public struct NotificationTarget: Sendable, Hashable, Codable {
            public var event: NotificationEvent
            public var address: String
        }

        /// What GetProfilesInfo reports: ICCID, ISD-P AID, state, names and class.
        public var info: ProfileInfo
        public var notificationTargets: [NotificationTarget]

        public var iccid: String { info.iccid }
        public var isdpAid: [UInt8] { info.isdpAid }
        public var enabled: Bool {
            get { info.enabled }
            set { info.enabled = newValue }
        }

        /// The address configured for `event`, if the profile asks for that event.
        public func address(for event: NotificationEvent) -> String? {
            notificationTargets.first { $0.event == event }?.address
        }
    }

    /// Everything the eUICC keeps across power cycles: profiles, the pending notification list (each entry the
    /// exact signed `PendingNotification` DER), the notification sequence counter and the ISD-P counter.
    /// Session state (challenge, download session, STORE DATA buffers) is volatile and not part of it.
    public struct Snapshot: Sendable, Hashable, Codable {
        public var eid: String
        public var profiles: [InstalledProfile] = []
        public var notifications: [[UInt8]] = []
        /// The sequence number the next notification gets.
        public var nextSequenceNumber = 1
        /// The number the next ISD-P AID is made from.
        public var nextISDPNumber = 0x10

        public init(eid: String) { self.eid = eid }

        /// The ICCID of the enabled profile, if any.
        public var enabledICCID: String? { profiles.first { $0.enabled }?.iccid }
    }

    /// Reads and writes one eUICC's snapshot as `<directory>/<EID>.json`; writes are atomic (temporary file then
    /// rename), so a crash leaves the previous or the new state, never a torn one.
    struct SnapshotStore {
        let directory: URL

        func url(eid: String) -> URL { directory.appendingPathComponent("\(eid).json") }

        /// The stored snapshot of `eid`, `nil` when none was written yet.
        func load(eid: String) throws -> Snapshot? {
            let file = url(eid: eid)
            guard FileManager.default.fileExists(atPath: file.path) else { return nil }
            let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(contentsOf: file))
            guard snapshot.eid == eid else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: file.path])
            }
            return snapshot
        }

        func save(_ snapshot: Snapshot) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(snapshot).write(to: url(eid: snapshot.eid), options: .atomic)
        }
    }
}
