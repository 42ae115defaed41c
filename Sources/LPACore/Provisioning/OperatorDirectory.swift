import LPAOperator
import NIOConcurrencyHelpers

/// The SM-DP+ endpoints the core may talk to: configured ones by address, and — when default trusted roots
/// are configured — any other address a requirement or a notification names, verified against those roots.
/// One ``ES9PlusClient`` (with its connection pool) per address, made on first use. Thread-safe.
public final class OperatorDirectory: ES9PlusDirectory {
    private let endpoints: [String: OperatorEndpoint]
    private let defaultTrustedRoots: OperatorPEM?
    private let clients = NIOLockedValueBox<[String: ES9PlusClient]>([:])

    public init(endpoints: [OperatorEndpoint], defaultTrustedRoots: OperatorPEM? = nil) {
        self.endpoints = Dictionary(endpoints.map { ($0.smdpAddress.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        self.defaultTrustedRoots = defaultTrustedRoots
    }

    public func client(for smdpAddress: String) throws -> any ES9PlusCalls {
        let key = smdpAddress.lowercased()
        return try clients.withLockedValue { clients in
            if let client = clients[key] { return client }
            let endpoint: OperatorEndpoint
            if let configured = endpoints[key] {
                endpoint = configured
            } else if let defaultTrustedRoots {
                endpoint = OperatorEndpoint(smdpAddress: smdpAddress, trustedRoots: defaultTrustedRoots)
            } else {
                throw OperatorDirectoryError.unknownSMDP(smdpAddress)
            }
            let client = try ES9PlusClient(endpoint: endpoint)
            clients[key] = client
            return client
        }
    }

    /// Closes every client's connections.
    public func shutdown() async {
        let all = clients.withLockedValue { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { await client.shutdown() }
    }
}

public enum OperatorDirectoryError: Error, Sendable, Hashable, CustomStringConvertible, CodedError {
    case unknownSMDP(String)

    public var errorCode: String { "provisioning.unknown_smdp" }
    public var description: String {
        switch self {
        case .unknownSMDP(let address):
            return "SM-DP+ \(address) is not configured and no default trusted roots are set (operators: section of the core configuration)"
        }
    }
}
