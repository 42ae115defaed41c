/// The roles of GSMA RSP certificates (SGP.22 v2 §4.5.2.1), each named by the certificate policy OID
/// (`id-rspRole-…`, under `2.23.146.1.2.1`) that a certificate of that role carries.
public enum RSPCertificateRole: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The GSMA Certificate Issuer, root of the RSP PKI (`id-rspRole-ci`).
    case ci
    /// An eUICC (`id-rspRole-euicc`), issued by its EUM; its subject serialNumber is the EID.
    case euicc
    /// An eUICC Manufacturer (`id-rspRole-eum`), issued by the CI.
    case eum
    /// An SM-DP+ TLS server (`id-rspRole-dp-tls`).
    case dpTLS
    /// An SM-DP+ authenticating itself to the eUICC (`id-rspRole-dp-auth`).
    case dpAuth
    /// An SM-DP+ binding profile packages (`id-rspRole-dp-pb`).
    case dpPb
    /// An SM-DS TLS server (`id-rspRole-ds-tls`).
    case dsTLS
    /// An SM-DS authenticating itself to the eUICC (`id-rspRole-ds-auth`).
    case dsAuth

    /// The certificate policy OID of the role, dotted.
    public var policyOID: String {
        switch self {
        case .ci: "2.23.146.1.2.1.0"
        case .euicc: "2.23.146.1.2.1.1"
        case .eum: "2.23.146.1.2.1.2"
        case .dpTLS: "2.23.146.1.2.1.3"
        case .dpAuth: "2.23.146.1.2.1.4"
        case .dpPb: "2.23.146.1.2.1.5"
        case .dsTLS: "2.23.146.1.2.1.6"
        case .dsAuth: "2.23.146.1.2.1.7"
        }
    }

    /// The role whose policy OID is `oid`, or `nil`.
    public init?(policyOID oid: String) {
        guard let role = RSPCertificateRole.allCases.first(where: { $0.policyOID == oid }) else { return nil }
        self = role
    }

    /// The ASN.1 name, for example `id-rspRole-dp-auth`.
    public var description: String {
        switch self {
        case .ci: "id-rspRole-ci"
        case .euicc: "id-rspRole-euicc"
        case .eum: "id-rspRole-eum"
        case .dpTLS: "id-rspRole-dp-tls"
        case .dpAuth: "id-rspRole-dp-auth"
        case .dpPb: "id-rspRole-dp-pb"
        case .dsTLS: "id-rspRole-ds-tls"
        case .dsAuth: "id-rspRole-ds-auth"
        }
    }
}

extension Certificate {
    /// The RSP roles named by the certificate's policies, in policy order.
    public var rspRoles: [RSPCertificateRole] {
        policies.compactMap(RSPCertificateRole.init(policyOID:))
    }
}
