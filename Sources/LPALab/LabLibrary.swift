/// The device-model library, configuration rule and count settings a lab run loads into lpa-core.
public enum LabLibrary {
    /// The lab library: `SIM-METER-1` with its count settings and, with `rule`, the configuration rule that gives
    /// every such device the requirement (automation downloads on registration); without it devices get no
    /// requirement and download only when a campaign names one.
    public static func yaml(smdpAddress: String, profileType: String, matchingID: String?, rule: Bool = true) -> String {
        let matching = matchingID.map { ", matchingID: \"\($0)\"" } ?? ""
        let rules = rule ? """
            configurationRules:
              - name: simulated-meters
                priority: 10
                match: {models: [SIM-METER-1]}
                requirement: {smdpAddress: "\(smdpAddress)", profileType: "\(profileType)"\(matching)}

            """ : ""
        return """
        # Lab libraries for lpa-core: one device model, one rule, one count-setting table.
        deviceModels:
          - code: SIM-METER-1
            name: Simulated smart meter
            fields:
              - {name: eid, validation: eid}
              - {name: imei, validation: imei}
              - {name: iccid, required: false, validation: iccid}
            heartbeatIntervalSeconds: 2
            historyLimit: 50
        \(rules)countSettings:
          - model: SIM-METER-1
            bands:
              # A silent window keeps the short interval; a terminal that reports moves to a longer one.
              - {minimumCount: 0, maximumCount: 0, heartbeatIntervalSeconds: 2, historyLimit: 50}
              - {minimumCount: 1, heartbeatIntervalSeconds: 4, historyLimit: 20}
        """
    }
}
