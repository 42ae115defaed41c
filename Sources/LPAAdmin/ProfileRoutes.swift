import Foundation
import Hummingbird
import LPACore
import RSP

extension AdminAPI {
    /// ES10c profile operations on one connected device: list, enable, disable, delete.
    static let profileRoutes: [AdminRoute] = [
        AdminRoute(.get, "/v1/devices/{terminalID}/profiles", .read),
        AdminRoute(.post, "/v1/devices/{terminalID}/profiles/{iccid}/enable", .operate),
        AdminRoute(.post, "/v1/devices/{terminalID}/profiles/{iccid}/disable", .operate),
        AdminRoute(.delete, "/v1/devices/{terminalID}/profiles/{iccid}", .operate),
    ]

    func profileHandler(for route: AdminRoute) -> Handler? {
        switch (route.method, route.path) {
        case (.get, "/v1/devices/{terminalID}/profiles"): return { _, c in
            let operations = try profileOperations(c)
            return AdminJSON.response(["profiles": try await run { try await operations.list() }])
        }
        case (.post, "/v1/devices/{terminalID}/profiles/{iccid}/enable"): return { _, c in
            let (operations, iccid) = (try profileOperations(c), try Self.iccid(c))
            try await run { try await operations.enable(iccid: iccid) }
            return Response(status: .noContent)
        }
        case (.post, "/v1/devices/{terminalID}/profiles/{iccid}/disable"): return { _, c in
            let (operations, iccid) = (try profileOperations(c), try Self.iccid(c))
            try await run { try await operations.disable(iccid: iccid) }
            return Response(status: .noContent)
        }
        case (.delete, "/v1/devices/{terminalID}/profiles/{iccid}"): return { _, c in
            let (operations, iccid) = (try profileOperations(c), try Self.iccid(c))
            try await run { try await operations.delete(iccid: iccid) }
            return Response(status: .noContent)
        }
        default:
            return nil
        }
    }

    private static func iccid(_ context: BasicRequestContext) throws -> String {
        let iccid = try AdminQuery.pathParameter(context, "iccid")
        guard (18...20).contains(iccid.count), iccid.allSatisfy(\.isNumber) else {
            throw AdminError.invalid("an ICCID is 18 to 20 digits", field: "iccid")
        }
        return iccid
    }

    private func profileOperations(_ context: BasicRequestContext) throws -> ProfileOperations {
        let terminalID = try AdminQuery.pathParameter(context, "terminalID")
        guard let links = profileLinks else {
            throw AdminError(.serviceUnavailable, "UNAVAILABLE", "profile operations are not available on this core")
        }
        guard let link = links(terminalID) else {
            throw AdminError(.conflict, "terminal.offline", "terminal \(terminalID) is not connected to any edge of this core", field: "terminalID")
        }
        return ProfileOperations(link: link)
    }

    /// Runs an operation on the device, mapping the eUICC's refusals and the terminal's failures.
    @discardableResult
    private func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RSPError {
            throw AdminError(.conflict, error.code, error.description)
        } catch let error as EUICCLinkError {
            throw AdminError(.conflict, error.errorCode, error.description)
        } catch let error as AdminError {
            throw error
        } catch {
            throw AdminError(.badGateway, "provisioning.transport", "the terminal did not answer: \(error)")
        }
    }
}
