import LPAHTTP
import NIOCore

/// How to reach one operator platform (SM-DP+): its address, whom to trust, what to present,
/// and how long to wait. A plain value; decodable from configuration files, where every field
/// but `smdpAddress` and `trustedRoots` may be left out.
public struct OperatorEndpoint: Sendable, Equatable, Codable {
    /// The SM-DP+ address as in activation codes: `host` or `host:port` (`[v6]:port` for IPv6).
    public var smdpAddress: String
    /// CA certificates that anchor the SM-DP+'s TLS certificate.
    public var trustedRoots: OperatorPEM
    /// Client certificate chain presented to the SM-DP+ (ES2+ mutual TLS), with ``clientKey``.
    public var clientCertificate: OperatorPEM?
    public var clientKey: OperatorPEM?
    /// Deadline of each call, in seconds.
    public var requestTimeoutSeconds: Double
    /// Upper bound on opening a TCP connection, in seconds.
    public var connectTimeoutSeconds: Double
    /// Value of the `X-Admin-Protocol` header.
    public var adminProtocol: String
    /// Largest response body accepted, in bytes (Bound Profile Packages are the largest).
    public var maxResponseBodyBytes: Int
    /// Connections kept open to this SM-DP+ at most.
    public var maxConnections: Int

    public static let defaultAdminProtocol = "gsma/rsp/v2.2.0"

    public init(
        smdpAddress: String,
        trustedRoots: OperatorPEM,
        clientCertificate: OperatorPEM? = nil,
        clientKey: OperatorPEM? = nil,
        requestTimeoutSeconds: Double = 30,
        connectTimeoutSeconds: Double = 10,
        adminProtocol: String = OperatorEndpoint.defaultAdminProtocol,
        maxResponseBodyBytes: Int = 4 * 1024 * 1024,
        maxConnections: Int = 8
    ) {
        self.smdpAddress = smdpAddress
        self.trustedRoots = trustedRoots
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.adminProtocol = adminProtocol
        self.maxResponseBodyBytes = maxResponseBodyBytes
        self.maxConnections = maxConnections
    }

    private enum CodingKeys: String, CodingKey {
        case smdpAddress, trustedRoots, clientCertificate, clientKey, requestTimeoutSeconds
        case connectTimeoutSeconds, adminProtocol, maxResponseBodyBytes, maxConnections
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            smdpAddress: try c.decode(String.self, forKey: .smdpAddress),
            trustedRoots: try c.decode(OperatorPEM.self, forKey: .trustedRoots),
            clientCertificate: try c.decodeIfPresent(OperatorPEM.self, forKey: .clientCertificate),
            clientKey: try c.decodeIfPresent(OperatorPEM.self, forKey: .clientKey),
            requestTimeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .requestTimeoutSeconds) ?? 30,
            connectTimeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .connectTimeoutSeconds) ?? 10,
            adminProtocol: try c.decodeIfPresent(String.self, forKey: .adminProtocol) ?? Self.defaultAdminProtocol,
            maxResponseBodyBytes: try c.decodeIfPresent(Int.self, forKey: .maxResponseBodyBytes) ?? 4 * 1024 * 1024,
            maxConnections: try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? 8)
    }

    /// ``smdpAddress`` split into host and port (443 when absent).
    ///
    /// - Throws: ``OperatorError/transport(_:)`` with ``HTTPClientError/invalidRequest(_:)`` when
    ///   the address is empty or its port is not a number in 1...65535.
    public func hostAndPort() throws -> (host: String, port: Int) {
        let address = smdpAddress
        func invalid() -> OperatorError {
            .transport(.invalidRequest("SM-DP+ address '\(address)' is not host[:port]"))
        }
        var host = address
        var portText: Substring?
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { throw invalid() }
            host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw invalid() }
                portText = rest.dropFirst()
            }
        } else if let colon = address.lastIndex(of: ":") {
            guard address.firstIndex(of: ":") == colon else { throw invalid() }  // bare IPv6 needs brackets
            host = String(address[..<colon])
            portText = address[address.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains("/") else { throw invalid() }
        guard let portText else { return (host, 443) }
        guard let port = Int(portText), (1...65535).contains(port) else { throw invalid() }
        return (host, port)
    }

    /// The HTTPS client settings this endpoint implies.
    public var httpsClientConfiguration: HTTPSClientConfiguration {
        var c = HTTPSClientConfiguration(
            trustRoots: trustedRoots.source, certificateChain: clientCertificate?.source, privateKey: clientKey?.source)
        c.requestTimeout = .nanoseconds(Int64(requestTimeoutSeconds * 1e9))
        c.connectTimeout = .nanoseconds(Int64(connectTimeoutSeconds * 1e9))
        c.maxResponseBodySize = maxResponseBodyBytes
        c.maxConnectionsPerHost = maxConnections
        return c
    }
}
