/// What a terminal says it is: `serverlpa.terminal.v1.Identity`, carried by ``Hello``.
///
/// The common fields have dedicated slots; anything else goes into ``extra`` in the terminal's own
/// order. This type only carries the claim: matching it against the client certificate and a
/// device model, and judging whether a field is well-formed (EID digits, IMEI check digit), is the
/// job of the edge and the core. The decoder guarantees valid UTF-8 without NUL characters and the
/// lengths and counts in ``TerminalProtocolLimits``.
public struct Identity: Sendable, Hashable {
    /// One identity field without a dedicated slot: `serverlpa.terminal.v1.Field`.
    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// eUICC identifier, 32 decimal digits.
    public var eid: String
    /// 15 decimal digits.
    public var imei: String
    /// ICCID of the currently enabled profile, 18–20 digits.
    public var iccid: String
    /// The device model code the terminal reports.
    public var model: String
    public var firmware: String
    /// Further fields, in the order the terminal sent them. Keys may repeat; the wire keeps them all.
    public var extra: [Field]

    public init(
        eid: String = "",
        imei: String = "",
        iccid: String = "",
        model: String = "",
        firmware: String = "",
        extra: [Field] = []
    ) {
        self.eid = eid
        self.imei = imei
        self.iccid = iccid
        self.model = model
        self.firmware = firmware
        self.extra = extra
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        let limit = limits.maximumStringLength
        try FieldRules.identityText(eid, limit: limit, field: "hello.identity.eid")
        try FieldRules.identityText(imei, limit: limit, field: "hello.identity.imei")
        try FieldRules.identityText(iccid, limit: limit, field: "hello.identity.iccid")
        try FieldRules.identityText(model, limit: limit, field: "hello.identity.model")
        try FieldRules.identityText(firmware, limit: limit, field: "hello.identity.firmware")
        try FieldRules.count(extra.count, limit: limits.maximumExtraFields, field: "hello.identity.extra")
        for (index, field) in extra.enumerated() {
            try FieldRules.identityText(field.key, limit: limit, field: "hello.identity.extra[\(index)].key")
            try FieldRules.identityText(field.value, limit: limit, field: "hello.identity.extra[\(index)].value")
        }
    }
}

extension Identity {
    /// The terminal's stable identifier: its EID, or its IMEI when it reports no EID. The edge names
    /// a terminal by it and the core refuses a registration whose terminal id is anything else.
    public var terminalID: String {
        eid.isEmpty ? imei : eid
    }
}
