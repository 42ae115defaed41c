/// One attribute of a certificate subject, e.g. `CN=8904...` or `serialNumber=3569...`.
public struct TLSSubjectAttribute: Sendable, Hashable, Codable {
    /// OpenSSL's short name (`CN`, `serialNumber`, `O`, …), or the dotted OID when it has none.
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Fired as a user inbound event by ``TLSHandler`` once the handshake has succeeded. Handlers above
/// the TLS handler read the peer's identity from it; nothing before this event is authenticated.
public struct TLSHandshakeCompleted: Sendable, Hashable, Codable {
    /// `TLSv1.2` or `TLSv1.3`.
    public var protocolVersion: String
    /// The negotiated cipher suite, in OpenSSL's naming.
    public var cipherSuite: String
    /// The key-exchange group, when OpenSSL reports one.
    public var group: String?
    /// True when an earlier session was resumed (no full handshake, no certificate exchange).
    public var resumed: Bool
    /// Subject of the peer's leaf certificate, in certificate order; empty when the peer sent none.
    public var peerSubject: [TLSSubjectAttribute]
    /// The peer's leaf certificate (DER), when it sent one.
    public var peerCertificateDER: [UInt8]?
    /// The server name the client asked for (server side, SNI).
    public var serverName: String?

    public init(
        protocolVersion: String, cipherSuite: String, group: String?, resumed: Bool,
        peerSubject: [TLSSubjectAttribute], peerCertificateDER: [UInt8]?, serverName: String?
    ) {
        self.protocolVersion = protocolVersion
        self.cipherSuite = cipherSuite
        self.group = group
        self.resumed = resumed
        self.peerSubject = peerSubject
        self.peerCertificateDER = peerCertificateDER
        self.serverName = serverName
    }

    /// The first value of a subject attribute, e.g. `peerSubjectValue("CN")`.
    public func peerSubjectValue(_ name: String) -> String? {
        peerSubject.first { $0.name == name }?.value
    }
}

/// Fired as a user inbound event by ``TLSHandler``, just before `channelInactive`, when the transport ended while
/// the session was established and neither side had sent close_notify (a ragged EOF). Data received until then
/// was authenticated record by record, but the peer did not say it had finished: a message delimited by the
/// end of the connection may be truncated. Devices that lose their radio link end this way.
public struct TLSUncleanShutdown: Sendable, Hashable {
    public init() {}
}
