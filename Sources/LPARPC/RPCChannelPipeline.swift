import LPATLS
import Logging
import NIOCore

/// Builds the pipeline of an RPC connection: [TLS] → frame decoder → frame encoder → connection.
enum RPCChannelPipeline {
    /// Adds the handlers to `channel`; must run on the channel's event loop. `established` is
    /// completed in every case: with the connection after the HELLO exchange, or with the reason it
    /// never got there.
    static func configure(
        _ channel: Channel,
        role: RPCConnectionRole,
        tls: TLSContext?,
        serverHostname: String?,
        configuration: RPCConnectionConfiguration,
        router: RPCRouter,
        logger: Logger,
        established: EventLoopPromise<RPCConnection>
    ) throws {
        do {
            let pipeline = channel.pipeline.syncOperations
            if let tls {
                try pipeline.addHandler(TLSHandler(context: tls, serverHostname: role == .initiator ? serverHostname : nil))
            }
            try pipeline.addHandler(ByteToMessageHandler(RPCFrameDecoder(maxFrameLength: configuration.maxFrameLength)))
            try pipeline.addHandler(MessageToByteHandler(RPCFrameEncoder()))
            try pipeline.addHandler(RPCConnectionHandler(
                role: role, configuration: configuration, router: router, logger: logger, established: established))
        } catch {
            established.fail(error)
            throw error
        }
    }
}
