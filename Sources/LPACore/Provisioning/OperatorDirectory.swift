import LPAOperator
import NIOConcurrencyHelpers

/// The SM-DP+ endpoints the core may talk to: configured ones by address, and — when default trusted roots
/// are configured — any other address a requirement or a notification names, verified against those roots.
/// One ``ES9PlusClient`` (with its connection pool) per address, made on first use. Thread-safe.
public final class OperatorDirectory: ES9PlusDirectory {
    private let endpoints: [String: OperatorEndpoint]
    private let defaultTrustedRoots: OperatorPEM?
    private let clients = NIOLockedValueBox<[String: ES9PlusClient]>([:])
    private let orderClients = NIOLockedValueBox<[String: ES2PlusClient]>([:])
    private let functionRequesterIdentifier: String

    /// - Parameter functionRequesterIdentifier: who the core is in ES2+ request headers.
    public init(endpoints: [OperatorEndpoint], defaultTrustedRoots: OperatorPEM? = nil, functionRequesterIdentifier: String = "ServerLPA") {
        self.endpoints = Dictionary(endpoints.map { ($0.smdpAddress.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        self.defaultTrustedRoots = defaultTrustedRoots
        self.functionRequesterIdentifier = functionRequesterIdentifier
    }

    private func endpoint(for smdpAddress: String) throws -> OperatorEndpoint {
        if let configured = endpoints[smdpAddress.lowercased()] { return configured }
        if let defaultTrustedRoots { return OperatorEndpoint(smdpAddress: smdpAddress, trustedRoots: defaultTrustedRoots) }
        throw OperatorDirectoryError.unknownSMDP(smdpAddress)
    }

    /// The ES2+ client for an SM-DP+ (its configured client certificate is used, as ES2+ usually requires).
    func es2Client(for smdpAddress: String) throws -> ES2PlusClient {
        try orderClients.withLockedValue { clients in
            if let client = clients[smdpAddress.lowercased()] { return client }
            let client = try ES2PlusClient(endpoint: try endpoint(for: smdpAddress), functionRequesterIdentifier: functionRequesterIdentifier)
            clients[smdpAddress.lowercased()] = client
            return client
        }
    }

    public func client(for smdpAddress: String) throws -> any ES9PlusCalls {
        let key = smdpAddress.lowercased()
        return try clients.withLockedValue { clients in
            if let client = clients[key] { return client }
            let client = try ES9PlusClient(endpoint: try endpoint(for: smdpAddress))
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
        let orders = orderClients.withLockedValue { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in orders { await client.shutdown() }
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
