import Foundation
import LPACore
import LPADomain
import LPAOperator
import LPASimKit
import RSP
import XCTest

/// The download state machine against a real virtual eUICC and the SM-DP+ simulator, with a fault at
/// every step: whatever happens, a profile is installed at most once and the job ends in a correct state.
final class DownloadRunnerTests: XCTestCase {
    /// Channel; challenge, info and lists; AuthenticateServer; PrepareDownload; the package with EnableProfile.
    func testFullDownloadInFiveRoundTrips() async throws {
        let h = try await ProvisioningHarness.make()
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .awaitingReturn, "\(job.errorText ?? "")")
        XCTAssertEqual(job.roundTrips, 5)
        XCTAssertEqual(job.attempt, 1)
        XCTAssertEqual(h.card.profiles.count, 1)
        XCTAssertEqual(h.card.enabledICCID, job.iccid)
        let stats = await h.simulator.statistics
        XCTAssertEqual(stats.installsConfirmed, 1)
        let notifications = try await h.store.notifications(eid: h.device.eid)
        XCTAssertEqual(notifications.count, 1)
        XCTAssertNotNil(notifications.first?.acknowledgedAt)
        XCTAssertEqual(notifications.first?.removedFromEUICC, false, "removed when the device returns, not in a round trip of its own")
        XCTAssertEqual(notifications.first?.jobID, job.id)
        XCTAssertEqual(h.card.snapshot.notifications.count, 2, "the installation result and the enable's, for the sweep on return")
        let stored = try await h.store.job(id: job.id)
        XCTAssertEqual(stored, job)
        await h.close()
    }

    func testTheInstallationResultIsRemovedFromTheEUICCWhenTheDeviceReturns() async throws {
        let h = try await ProvisioningHarness.make()
        let service = h.service()
        let requirement = DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")
        let created = try await service.deviceRegistered(h.record(requirement))
        await service.waitUntilIdle()
        let confirmed = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertEqual(confirmed?.state, .confirmed)
        let deadline = Date().addingTimeInterval(10)
        while try await h.store.notifications(eid: h.device.eid).contains(where: { !$0.removedFromEUICC }), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let records = try await h.store.notifications(eid: h.device.eid)
        XCTAssertEqual(records.filter { $0.jobID == created?.id }.map(\.removedFromEUICC), [true])
        XCTAssertTrue(records.allSatisfy { $0.acknowledgedAt != nil && $0.removedFromEUICC }, "\(records)")
        XCTAssertTrue(h.card.snapshot.notifications.isEmpty, "the eUICC's list is empty again")
        await h.close()
    }

    func testAnEnableRefusedWithTheLoadIsTriedOnItsOwn() async throws {
        let h = try await ProvisioningHarness.make()
        // EnableProfile (STORE DATA, last block, BF31) answered 6A80 the first time only.
        h.link.forcedStatusWord = ([0x81, 0xE2, 0x91, 0x00, 0x14, 0xBF, 0x31], 0x6A80)
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .awaitingReturn, "\(job.errorText ?? "")")
        XCTAssertEqual(job.roundTrips, 6, "one more round trip for the enable")
        XCTAssertEqual(h.card.enabledICCID, job.iccid)
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }

    func testSMDPRefusalAtEachFunctionFailsTheJobCancelsTheSessionAndANewJobSucceeds() async throws {
        for function in [SMDPFunction.initiateAuthentication, .authenticateClient, .getBoundProfilePackage] {
            let h = try await ProvisioningHarness.make()
            await h.simulator.failNext(1, of: function, with: .failed("8.1", "4.2", "injected"))
            let failed = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
            XCTAssertEqual(failed.state, .failed, "\(function)")
            XCTAssertEqual(failed.errorCode, "OPERATOR_FUNCTION_FAILED", "\(function)")
            XCTAssertTrue(h.card.profiles.isEmpty, "\(function)")
            let retried = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
            XCTAssertEqual(retried.state, .awaitingReturn, "\(function): \(retried.errorText ?? "")")
            XCTAssertEqual(h.card.profiles.count, 1, "\(function)")
            let stats = await h.simulator.statistics
            XCTAssertEqual(stats.installsConfirmed, 1, "\(function)")
            await h.close()
        }
    }

    func testTamperedPackageIsRefusedByTheEUICCAndReportedToTheSMDP() async throws {
        var faults = SMDPFaults()
        faults.corruptsBoundProfilePackage = true
        let h = try await ProvisioningHarness.make(faults: faults)
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.errorCode, "euicc.install_failed")
        XCTAssertTrue(job.errorText?.contains("errorReason 8") ?? false, job.errorText ?? "")
        XCTAssertTrue(h.card.profiles.isEmpty)
        let stats = await h.simulator.statistics
        XCTAssertEqual(stats.installsConfirmed, 0)
        XCTAssertEqual(stats.installsFailed, 1, "the signed error result reaches the SM-DP+")
        await h.close()
    }

    func testErrorStatusWordFailsTheJobWithTheCommandNamed() async throws {
        let h = try await ProvisioningHarness.make()
        // STORE DATA carrying AuthenticateServer (BF38) answered 6A 88.
        h.link.forcedStatusWord = (apduPrefix: [0x81, 0xE2, 0x11, 0x00, 0xFF, 0xBF, 0x38], sw: 0x6A88)
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.errorCode, "apdu.status_word")
        XCTAssertTrue(job.errorText?.contains("AuthenticateServer") ?? false, job.errorText ?? "")
        XCTAssertTrue(h.card.profiles.isEmpty)
        await h.close()
    }

    /// Every request of a download dropped once — before the card saw it, or after (the answer lost) — and the
    /// job resumed by a fresh runner (as after a core restart): it ends enabled, with one profile installed once.
    func testConnectionLossAtEveryStepThenResumeInstallsExactlyOnce() async throws {
        for number in 1...6 {
            for when in [FaultyCardLink.Drop.beforeCard, .afterCard] {
                let label = "request \(number) dropped \(when)"
                let h = try await ProvisioningHarness.make()
                h.link.dropRequest = (number, when)
                var job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
                XCTAssertTrue(job.state.isActive, "\(label): \(job.state)")
                // A restarted core reads the job back from the store and runs it again.
                let stored = try await h.store.job(id: job.id)
                XCTAssertEqual(stored?.state, job.state, label)
                job = try await h.runner().run(try XCTUnwrap(stored), device: h.device, link: h.link)
                XCTAssertEqual(job.state, .awaitingReturn, "\(label): \(job.errorText ?? "")")
                XCTAssertEqual(h.card.profiles.count, 1, label)
                XCTAssertEqual(h.card.enabledICCID, job.iccid, label)
                let stats = await h.simulator.statistics
                XCTAssertEqual(stats.installsConfirmed, 1, "\(label): the SM-DP+ saw one installation")
                await h.close()
            }
        }
    }

    func testUndeliveredNotificationIsRetriedUntilAcknowledged() async throws {
        let h = try await ProvisioningHarness.make()
        await h.simulator.failNext(1, of: .handleNotification, with: .failed("8.1", "4.2", "busy"))
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .awaitingReturn, "a notification failure does not hold the profile back")
        var records = try await h.store.notifications(eid: h.device.eid)
        XCTAssertNil(records.first?.acknowledgedAt)
        XCTAssertEqual(records.first?.removedFromEUICC, false, "not removed from the eUICC before the SM-DP+ has it")
        let service = ProvisioningService(store: h.store, es9: SimulatorES9(simulator: h.simulator), links: { _ in nil },
                                          clock: { Int64(Date().timeIntervalSince1970) + 3600 })
        try await service.deliverDueNotifications(now: Int64(Date().timeIntervalSince1970) + 3600)
        records = try await h.store.notifications(eid: h.device.eid)
        XCTAssertNotNil(records.first?.acknowledgedAt)
        XCTAssertEqual(records.first?.attempts, 2)
        await h.close()
    }
}

/// ES10c operations on request, through the same link as downloads.
final class ProfileOperationsTests: XCTestCase {
    func testListEnableDisableDelete() async throws {
        let h = try await ProvisioningHarness.make()
        let job = try await h.runner().run(try await h.newJob(), device: h.device, link: h.link)
        let iccid = try XCTUnwrap(job.iccid)
        let operations = ProfileOperations(link: h.link)
        var profiles = try await operations.list()
        XCTAssertEqual(profiles.map(\.iccid), [iccid])
        XCTAssertEqual(profiles.first?.enabled, true)
        // Deleting an enabled profile is refused by the eUICC (profileNotInDisabledState).
        do {
            try await operations.delete(iccid: iccid)
            XCTFail("deleted an enabled profile")
        } catch let error as RSPError {
            XCTAssertEqual(error, .euiccError(command: "DeleteProfile", code: 2))
        }
        try await operations.disable(iccid: iccid, refresh: false)
        profiles = try await operations.list()
        XCTAssertEqual(profiles.first?.enabled, false)
        try await operations.enable(iccid: iccid, refresh: false)
        XCTAssertEqual(h.card.enabledICCID, iccid)
        try await operations.disable(iccid: iccid, refresh: false)
        try await operations.delete(iccid: iccid)
        profiles = try await operations.list()
        XCTAssertTrue(profiles.isEmpty)
        do {
            try await operations.enable(iccid: "8999001000000000000")
            XCTFail("enabled an unknown profile")
        } catch let error as RSPError {
            XCTAssertEqual(error, .euiccError(command: "EnableProfile", code: 1))
        }
        await h.close()
    }
}
