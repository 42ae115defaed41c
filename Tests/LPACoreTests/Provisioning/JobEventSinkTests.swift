import Foundation
import LPACore
import LPADomain
import NIOConcurrencyHelpers
import XCTest

/// The seam webhooks hang on: every job created and every state change is reported once, after it was
/// stored, with the state it left.
final class JobEventSinkTests: XCTestCase {
    actor RecordingSink: JobEventSink {
        var changes: [(from: ProvisioningJob.State?, to: ProvisioningJob.State)] = []

        func jobChanged(_ job: ProvisioningJob, from: ProvisioningJob.State?) async {
            changes.append((from, job.state))
        }
    }

    func testEveryChangeOfADownloadIsReportedOnceInOrder() async throws {
        let h = try await ProvisioningHarness.make()
        let sink = RecordingSink()
        let service = h.service(events: sink)
        let requirement = DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")
        _ = try await service.deviceRegistered(h.record(requirement))
        await service.waitUntilIdle()
        _ = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))

        let changes = await sink.changes
        XCTAssertEqual(changes.first?.from, nil)
        XCTAssertEqual(changes.first?.to, .queued)
        XCTAssertEqual(changes.last?.to, .confirmed)
        for (earlier, later) in zip(changes, changes.dropFirst()) {
            XCTAssertEqual(later.from, earlier.to, "each change starts where the previous one ended")
            XCTAssertNotEqual(later.from, later.to)
        }
        XCTAssertEqual(changes.filter { $0.from == nil }.count, 1)
        XCTAssertTrue(changes.contains { $0.to == .loading }, "\(changes)")
        await h.close()
    }

    func testADeviceThatNeverReturnsIsReportedAsTimedOut() async throws {
        let h = try await ProvisioningHarness.make()
        let sink = RecordingSink()
        let now = NIOLockedValueBox<Int64>(1_000)
        let service = h.service(clock: { now.withLockedValue { $0 } }, returnTimeout: 300, events: sink)
        _ = try await service.deviceRegistered(h.record(DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")))
        await service.waitUntilIdle()
        now.withLockedValue { $0 += 301 }
        await service.tick()
        let last = await sink.changes.last
        XCTAssertEqual(last?.from, .awaitingReturn)
        XCTAssertEqual(last?.to, .returnTimedOut)
        await h.close()
    }
}
