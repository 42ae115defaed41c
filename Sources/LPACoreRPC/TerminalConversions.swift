import Foundation
import TerminalProtocol

extension CoreRPC_Settings {
    /// The RPC form of terminal settings.
    public init(_ s: TerminalSettings) {
        self.init()
        heartbeatIntervalS = s.heartbeatIntervalSeconds
        historyLimit = s.historyLimit
        version = s.version
    }

    public var terminalSettings: TerminalSettings {
        TerminalSettings(heartbeatIntervalSeconds: heartbeatIntervalS, historyLimit: historyLimit, version: version)
    }
}

extension CoreRPC_Identity {
    /// The RPC form of a terminal identity; extra fields keep their keys (order by key).
    public init(_ i: Identity) {
        self.init()
        eid = i.eid
        imei = i.imei
        iccid = i.iccid
        model = i.model
        firmware = i.firmware
        extra = Dictionary(i.extra.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    public var identity: Identity {
        Identity(eid: eid, imei: imei, iccid: iccid, model: model, firmware: firmware,
                 extra: extra.sorted { $0.key < $1.key }.map { Identity.Field(key: $0.key, value: $0.value) })
    }
}
