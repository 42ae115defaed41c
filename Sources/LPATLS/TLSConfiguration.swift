import NIOCore

/// Everything needed to build a ``TLSContext``: role, versions, algorithms, credentials and peer
/// verification. A plain value; building the context validates it and loads the credentials.
public struct TLSConfiguration: Sendable {
    /// Which side of the handshake the context serves.
    public enum Role: String, Sendable {
        case server
        case client
    }

    /// Protocol versions this layer speaks. Anything older than TLS 1.2 is never negotiated.
    public enum ProtocolVersion: String, Sendable, Comparable, CaseIterable {
        case tls12 = "TLSv1.2"
        case tls13 = "TLSv1.3"

        public static func < (lhs: Self, rhs: Self) -> Bool {
            lhs == .tls12 && rhs == .tls13
        }
    }

    /// Where PEM material comes from.
    public enum PEMSource: Sendable, Equatable {
        /// A PEM file on disk.
        case file(String)
        /// PEM text held in memory.
        case pem(String)
    }

    /// How the peer's certificate is checked.
    public enum PeerVerification: String, Sendable {
        /// No certificate is requested (server) or checked (client). Never the client default.
        case none
        /// A certificate is requested; if one is sent it must verify (server only).
        case optional
        /// A certificate must be presented and must verify against ``TLSConfiguration/trustRoots``.
        case required
    }

    public var role: Role
    public var minimumVersion: ProtocolVersion = .tls12
    public var maximumVersion: ProtocolVersion = .tls13
    /// OpenSSL cipher list for TLS 1.2 (`SSL_CTX_set_cipher_list`). Forward-secret AEAD suites only by default.
    public var cipherList: String =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// OpenSSL TLS 1.3 cipher suites (`SSL_CTX_set_ciphersuites`).
    public var cipherSuites: String = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// Key-exchange groups in preference order (`SSL_CTX_set1_groups_list`). The list also names the
    /// curves whose certificates are acceptable, so brainpoolP256r1 stays in it for GSMA PKIs; OpenSSL 3.0
    /// uses brainpool groups and certificates with TLS 1.2 only.
    public var groups: String = "P-256:X25519:brainpoolP256r1"
    /// Own certificate chain (leaf first). Required for servers.
    public var certificateChain: PEMSource?
    /// Private key matching the leaf certificate.
    public var privateKey: PEMSource?
    /// CA certificates that anchor peer verification.
    public var trustRoots: PEMSource?
    /// Peer verification mode. Servers default to mutual TLS; clients always verify unless told otherwise.
    public var peerVerification: PeerVerification
    /// A URI the peer's leaf certificate must carry in its subject alternative name (for example
    /// ``InfrastructureRole/edge``); nil accepts any certificate that verifies. Checked when the
    /// handshake completes, before anything is announced above the TLS handler: a peer without it fails
    /// the handshake with ``TLSError/handshakeFailed(reasons:verifyError:)`` (`TLS_PEER_VERIFICATION_FAILED`).
    /// Requires ``peerVerification`` other than `.none`; a peer that sends no certificate fails too.
    public var requiredPeerURI: String?
    /// Maximum length of the peer's chain below the trust anchor.
    public var verifyDepth: Int = 4
    /// Time allowed for the whole handshake before the connection is closed.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// Let the OpenSSL object free its record buffers while idle (`SSL_MODE_RELEASE_BUFFERS`).
    public var releaseBuffersWhenIdle: Bool = true
    /// Server: issue TLS 1.3 tickets / TLS 1.2 stateless tickets so returning clients resume.
    /// Client: offer sessions from a ``TLSClientSessionCache`` given to the handler.
    public var sessionResumption: Bool = true
    /// Tickets issued after each full TLS 1.3 handshake (server).
    public var ticketsPerHandshake: Int = 1
    /// Session identifier context (server); sessions only resume within the same context.
    public var sessionContext: String = "serverlpa"
    /// Server: the keys that seal and open session tickets, shared by every server of a deployment
    /// so that any of them resumes a ticket another issued. Nil: OpenSSL's own keys, random per
    /// process (tickets resume only on the process that issued them).
    public var ticketKeys: TLSTicketKeys?
    /// Server: once a TLS 1.3 handshake completes, free the OpenSSL connection object and protect
    /// records with the negotiated AEAD directly (OpenSSL EVP ciphers, one context per thread), so
    /// an idle connection keeps about 0.3 KiB of TLS state instead of about 20 KiB. Connections
    /// that negotiate TLS 1.2 or an AES-CCM suite stay on OpenSSL's record layer.
    public var compactSessions: Bool = true

    public init(role: Role) {
        self.role = role
        self.peerVerification = .required
    }

    /// A server configuration that requires client certificates by default (mutual TLS).
    public static func server(
        certificateChain: PEMSource,
        privateKey: PEMSource,
        trustRoots: PEMSource?,
        peerVerification: PeerVerification = .required
    ) -> TLSConfiguration {
        var c = TLSConfiguration(role: .server)
        c.certificateChain = certificateChain
        c.privateKey = privateKey
        c.trustRoots = trustRoots
        c.peerVerification = peerVerification
        return c
    }

    /// A client configuration that verifies the server against `trustRoots`, optionally presenting
    /// its own certificate.
    public static func client(
        trustRoots: PEMSource?,
        certificateChain: PEMSource? = nil,
        privateKey: PEMSource? = nil
    ) -> TLSConfiguration {
        var c = TLSConfiguration(role: .client)
        c.trustRoots = trustRoots
        c.certificateChain = certificateChain
        c.privateKey = privateKey
        c.peerVerification = .required
        return c
    }
}
