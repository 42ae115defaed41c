import HummingbirdCore
import LPATLS
import Logging
import NIOCore

/// A Hummingbird HTTP/1.1 connection behind LPATLS: each accepted connection gets a ``TLSHandler``
/// (OpenSSL) first in its pipeline, then Hummingbird's HTTP/1.1 handlers. Requests reach the
/// router only after the handshake has succeeded (and, when client certificates are required,
/// after the client's certificate verified).
///
/// Runs on the connection's event loop during setup; request handling is Hummingbird's.
struct AdminTLSChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http: HTTP1Channel
    let tls: TLSContext

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let tls = self.tls
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
        }.flatMap {
            http.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }

    /// The server builder for ``HTTPListener`` serving HTTPS with `tls`.
    static func builder(_ tls: TLSContext) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            AdminTLSChannel(http: HTTP1Channel(responder: responder), tls: tls)
        }
    }
}
