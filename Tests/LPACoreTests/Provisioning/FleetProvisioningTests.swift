import Foundation
import LPACore
import LPALab
import LPASimKit
import XCTest

/// The whole flow through real sockets and TLS: SM-DP+ simulator over HTTPS, lpa-core on SQLite, lpa-edge,
/// and terminals with virtual eUICCs over mutual TLS.
final class FleetProvisioningTests: XCTestCase {
    func testASmallFleetIsProvisionedEndToEnd() async throws {
        var configuration = LabConfiguration()
        configuration.workdir = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-lab-\(UUID().uuidString)").path
        configuration.terminals = 6
        configuration.timeoutSeconds = 120
        configuration.profileSize = 4096
        let lab = ProvisioningLab(configuration: configuration)
        try await lab.start()
        let summary = try await lab.waitForFleet()
        await lab.stop()
        try? FileManager.default.removeItem(atPath: configuration.workdir)

        XCTAssertEqual(summary.provisioned, 6, "failures: \(summary.failures)")
        XCTAssertEqual(summary.failed, 0)
        XCTAssertLessThanOrEqual(summary.roundTripsMax, 8)
        XCTAssertEqual(summary.installsConfirmedBySMDP, 6)
        XCTAssertEqual(summary.notificationsAcknowledged, 12, "install and enable notifications of every device")
        XCTAssertEqual(summary.refreshes, 6, "every terminal came back after its profile switch")
    }
}
