import LPATLS
import NIOCore

/// Settings of an ``HTTPSServer``.
public struct HTTPSServerConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on; 0 lets the OS choose (read it back from ``HTTPSServer/port``).
    public var port: Int
    /// TLS for every connection; nil serves plaintext HTTP (tests on loopback only).
    public var tls: TLSConfiguration?
    /// Largest request body accepted, in bytes; larger requests get `413` and the connection closes.
    public var maxRequestBodySize: Int = 4 * 1024 * 1024
    /// How long ``HTTPSServer/shutdown()`` lets requests in flight finish before closing their connections.
    public var shutdownGracePeriod: TimeAmount = .seconds(10)
    /// Pending TCP connections the OS queues.
    public var backlog: Int32 = 256

    public init(host: String = "127.0.0.1", port: Int = 0, tls: TLSConfiguration?) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}
