import LPATLS

/// How a socket transport protects its connections.
public enum RPCTransportSecurity: Sendable {
    /// TLS through the project's OpenSSL layer. For ``RPCServer`` use
    /// `TLSConfiguration.server(certificateChain:privateKey:trustRoots:)`, which requires client
    /// certificates (mutual TLS) unless told otherwise; for ``RPCClient`` use
    /// `TLSConfiguration.client(trustRoots:certificateChain:privateKey:)` with a client certificate.
    case tls(TLSConfiguration)
    /// No encryption and no peer authentication: for tests and benchmarks on loopback only.
    case plaintext
}
