import LPAHTTP
import LPAOperator
import LPATLS
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP binding of an `SMDPSimulator`: ES9+ under `/gsma/rsp2/es9plus/*` and ES2+ under
/// `/gsma/rsp2/es2plus/*` on an `HTTPSServer`, JSON as SGP.22 §6.5 defines it (and as `ES9PlusClient` and
/// `ES2PlusClient` speak it).
///
/// Every function answers HTTP 200 with `header.functionExecutionStatus` — `Failed` with the status code of the
/// refused check, including a missing or wrong `X-Admin-Protocol`, a body that is not JSON or a field that is
/// missing or undecodable — except handleNotification, which answers 204. Unknown paths get 404, other methods
/// 405. Responses carry `X-Admin-Protocol` and `Content-Type: application/json;charset=UTF-8` (§6.5.1); the
/// configuration's `deviations` can drop the charset or turn refusals into bare HTTP 500 answers.
/// Thread-safe; stop it with `shutdown()`.
public final class SMDPServer: Sendable {
    public let simulator: SMDPSimulator
    public let http: HTTPSServer

    /// The port the server listens on (the OS's choice when started with port 0).
    public var port: Int { http.port }

    /// The address an LPA uses for this server: `host:port`.
    public var address: String { "\(http.configuration.host):\(port)" }

    private init(simulator: SMDPSimulator, http: HTTPSServer) {
        self.simulator = simulator
        self.http = http
    }

    /// A TLS server configuration presenting the PKI's DPtls certificate (chained to the CI, which is what
    /// clients trust), without client certificates.
    /// - Throws: `CryptoError` when the private key cannot be written as PEM.
    public static func tlsConfiguration(pki: RSPTestPKI) throws -> TLSConfiguration {
        .server(
            certificateChain: .pem(pki.dpTLS.certificate.pem), privateKey: .pem(try pki.dpTLS.privateKey.pemPKCS8),
            trustRoots: .pem(pki.ci.certificate.pem), peerVerification: .none)
    }

    /// Binds `host:port` (0: the OS chooses) and serves `simulator`; plaintext when `tls` is nil (local tests).
    public static func start(
        simulator: SMDPSimulator, host: String = "127.0.0.1", port: Int = 0, tls: TLSConfiguration?,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.sim.smdp.http")
    ) async throws -> SMDPServer {
        var configuration = HTTPSServerConfiguration(host: host, port: port, tls: tls)
        configuration.shutdownGracePeriod = .seconds(2)
        let http = try await HTTPSServer.start(configuration: configuration, group: group, logger: logger) { request in
            await SMDPServer.respond(to: request, simulator: simulator)
        }
        return SMDPServer(simulator: simulator, http: http)
    }

    /// Stops the HTTP server (requests in flight finish).
    public func shutdown() async {
        await http.shutdown()
    }

    // MARK: - Routing

    static let es9PlusPath = "/gsma/rsp2/es9plus/"
    static let es2PlusPath = "/gsma/rsp2/es2plus/"
    static let es9PlusFunctions: Set<SMDPFunction> = [
        .initiateAuthentication, .authenticateClient, .getBoundProfilePackage, .handleNotification, .cancelSession,
    ]
    static let es2PlusFunctions: Set<SMDPFunction> = [.downloadOrder, .confirmOrder, .cancelOrder, .releaseProfile]

    /// Answers one request; usable without a socket.
    public static func respond(to request: HTTPServerRequest, simulator: SMDPSimulator) async -> HTTPServerResponse {
        let path = request.path
        let function: SMDPFunction?
        if path.hasPrefix(es9PlusPath), let named = SMDPFunction(rawValue: String(path.dropFirst(es9PlusPath.count))),
           es9PlusFunctions.contains(named) {
            function = named
        } else if path.hasPrefix(es2PlusPath), let named = SMDPFunction(rawValue: String(path.dropFirst(es2PlusPath.count))),
                  es2PlusFunctions.contains(named) {
            function = named
        } else {
            function = nil
        }
        guard let function else { return HTTPServerResponse(status: .notFound) }
        guard request.method == .POST else { return HTTPServerResponse(status: .methodNotAllowed, headers: ["Allow": "POST"]) }
        do {
            let contentType = request.headers.first(name: "Content-Type")
            guard contentType?.lowercased().hasPrefix("application/json") == true else { throw SMDPError.invalidContentType(contentType) }
            let adminProtocol = request.headers.first(name: "X-Admin-Protocol")
            guard adminProtocol?.hasPrefix("gsma/rsp/v2") == true else { throw SMDPError.invalidAdminProtocol(adminProtocol) }
            let body = try SMDPJSONRequest(body: request.body)
            return finish(try await dispatch(function, body, simulator), simulator.configuration.deviations)
        } catch let error as SMDPError {
            return failure(error, simulator.configuration.deviations)
        } catch {
            return failure(.failed("8.1", "4.2", "\(error)"), simulator.configuration.deviations)
        }
    }

    private static func failure(_ error: SMDPError, _ deviations: SMDPFieldDeviations) -> HTTPServerResponse {
        if deviations.answersHTTP500OnError {
            return HTTPServerResponse(status: .internalServerError, headers: ["Content-Type": "text/plain"], body: Array("\(error)".utf8))
        }
        return finish(reply(.json(SMDPJSONResponse.failure(error))), deviations)
    }

    /// Sets the JSON content type as §6.5.1 writes it (or without the charset, when that deviation is on).
    private static func finish(_ response: HTTPServerResponse, _ deviations: SMDPFieldDeviations) -> HTTPServerResponse {
        var response = response
        if response.headers.first(name: "Content-Type") == "application/json", !deviations.omitsContentTypeCharset {
            response.headers.replaceOrAdd(name: "Content-Type", value: "application/json;charset=UTF-8")
        }
        return response
    }

    private static func dispatch(_ function: SMDPFunction, _ body: SMDPJSONRequest, _ smdp: SMDPSimulator) async throws -> HTTPServerResponse {
        switch function {
        case .initiateAuthentication:
            let r = try await smdp.initiateAuthentication(
                euiccChallenge: try body.bytes("euiccChallenge"), euiccInfo1: try body.bytes("euiccInfo1"),
                smdpAddress: try body.string("smdpAddress"))
            return ok([
                "transactionId": r.transactionId, "serverSigned1": r.serverSigned1, "serverSignature1": r.serverSignature1,
                "euiccCiPKIdToBeUsed": r.euiccCiPKIdToBeUsed, "serverCertificate": r.serverCertificate,
            ])
        case .authenticateClient:
            let r = try await smdp.authenticateClient(
                transactionId: try body.transactionId(), authenticateServerResponse: try body.bytes("authenticateServerResponse"))
            return ok([
                "transactionId": r.transactionId, "profileMetadata": r.profileMetadata, "smdpSigned2": r.smdpSigned2,
                "smdpSignature2": r.smdpSignature2, "smdpCertificate": r.smdpCertificate,
            ])
        case .getBoundProfilePackage:
            let r = try await smdp.getBoundProfilePackage(
                transactionId: try body.transactionId(), prepareDownloadResponse: try body.bytes("prepareDownloadResponse"))
            return ok(["transactionId": r.transactionId, "boundProfilePackage": r.boundProfilePackage])
        case .handleNotification:
            try await smdp.handleNotification(pendingNotification: try body.bytes("pendingNotification"))
            return reply(HTTPServerResponse(status: .noContent))
        case .cancelSession:
            try await smdp.cancelSession(
                transactionId: try body.transactionId(), cancelSessionResponse: try body.bytes("cancelSessionResponse"))
            return ok([:])
        case .downloadOrder:
            try body.checkES2PlusHeader()
            let iccid = try await smdp.downloadOrder(
                eid: try body.optionalString("eid"), iccid: try body.optionalString("iccid"),
                profileType: try body.optionalString("profileType"))
            return ok(["iccid": iccid])
        case .confirmOrder:
            try body.checkES2PlusHeader()
            let r = try await smdp.confirmOrder(
                iccid: try body.string("iccid"), eid: try body.optionalString("eid"),
                matchingId: try body.optionalString("matchingId"), confirmationCode: try body.optionalString("confirmationCode"),
                smdsAddress: try body.optionalString("smdsAddress"), releaseFlag: try body.bool("releaseFlag"))
            var fields: [String: Any] = ["matchingId": r.matchingId]
            fields["eid"] = r.eid
            fields["smdpAddress"] = r.smdpAddress
            return ok(fields)
        case .cancelOrder:
            try body.checkES2PlusHeader()
            try await smdp.cancelOrder(
                iccid: try body.string("iccid"), eid: try body.optionalString("eid"),
                matchingId: try body.optionalString("matchingId"),
                finalProfileStatusIndicator: try body.string("finalProfileStatusIndicator"))
            return ok([:])
        case .releaseProfile:
            try body.checkES2PlusHeader()
            try await smdp.releaseProfile(iccid: try body.string("iccid"))
            return ok([:])
        }
    }

    private static func ok(_ fields: [String: Any]) -> HTTPServerResponse {
        reply(.json(SMDPJSONResponse.success(fields)))
    }

    /// Adds the `X-Admin-Protocol` header every SM-DP+ response carries.
    private static func reply(_ response: HTTPServerResponse) -> HTTPServerResponse {
        var response = response
        response.headers.replaceOrAdd(name: "X-Admin-Protocol", value: OperatorEndpoint.defaultAdminProtocol)
        return response
    }
}
