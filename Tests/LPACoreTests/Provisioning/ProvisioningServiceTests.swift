import Foundation
import LPACore
import LPADomain
import LPASimKit
import NIOConcurrencyHelpers
import XCTest

/// Automation: jobs start by themselves from the requirement, are confirmed by the device's return, time
/// out when it never returns, and order through ES2+ when the requirement says so.
final class ProvisioningServiceTests: XCTestCase {
    func testRequirementStartsAJobAndTheReturnConfirmsIt() async throws {
        let h = try await ProvisioningHarness.make()
        let service = h.service()
        let requirement = DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")
        let created = try await service.deviceRegistered(h.record(requirement))
        XCTAssertEqual(created?.state, .queued)
        await service.waitUntilIdle()
        var job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .awaitingReturn, job?.errorText ?? "")
        // Registering again on the old ICCID does not start another download.
        let again = try await service.deviceRegistered(h.record(requirement))
        XCTAssertEqual(again?.id, created?.id)
        // The device comes back on the new profile.
        let confirmed = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertEqual(confirmed?.state, .confirmed)
        job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .confirmed)
        // Satisfied: no new job for the same requirement.
        let after = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertNil(after)
        let counts = try await h.store.jobCounts()
        XCTAssertEqual(counts, [.confirmed: 1])
        await h.close()
    }

    func testDeviceThatNeverReturnsIsFlagged() async throws {
        let h = try await ProvisioningHarness.make()
        let now = NIOLockedValueBox<Int64>(1_000)
        let service = h.service(clock: { now.withLockedValue { $0 } }, returnTimeout: 300)
        let created = try await service.deviceRegistered(h.record(DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")))
        await service.waitUntilIdle()
        await service.tick()
        var job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .awaitingReturn)
        now.withLockedValue { $0 += 301 }
        await service.tick()
        job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .returnTimedOut)
        XCTAssertEqual(job?.errorCode, "provisioning.return_timeout")
        await h.close()
    }

    func testRequirementThatOrdersFirstUsesES2Plus() async throws {
        // Without auto-order, the SM-DP+ only serves profiles that were ordered.
        let h = try await ProvisioningHarness.make(autoOrder: false)
        let requirement = DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot", orderViaES2Plus: true)
        let service = h.service(es2: true)
        let created = try await service.deviceRegistered(h.record(requirement))
        XCTAssertNotNil(created?.matchingID)
        await service.waitUntilIdle()
        let job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .awaitingReturn, job?.errorText ?? "")
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()

        // And without ES2+ the same SM-DP+ refuses the unknown device: the job fails with the operator's code.
        let other = try await ProvisioningHarness.make(autoOrder: false)
        let plain = other.service()
        let refused = try await plain.deviceRegistered(other.record(DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")))
        await plain.waitUntilIdle()
        let failed = try await other.store.job(id: try XCTUnwrap(refused?.id))
        XCTAssertEqual(failed?.state, .failed)
        XCTAssertEqual(failed?.errorCode, "OPERATOR_FUNCTION_FAILED")
        await other.close()
    }
}
