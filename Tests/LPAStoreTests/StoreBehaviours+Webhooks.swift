import LPADomain
import XCTest
@testable import LPAStore

extension StoreBehaviours {
    private func delivery(_ id: String, event: String = "evt-1", endpoint: String = "ops", due: Int64 = 100) -> WebhookDelivery {
        WebhookDelivery(id: id, eventID: event, eventType: "job.created", endpoint: endpoint, body: #"{"id":"\#(event)"}"#,
                        nextAttemptAt: due, createdAt: due)
    }

    func webhookDeliveriesAreClaimedOnceAndFinishedOnce() async throws {
        let store = try await migratedStore()
        try await store.addWebhookDeliveries([delivery("d-2", endpoint: "b"), delivery("d-1", endpoint: "a"), delivery("d-3", event: "evt-2", due: 500)])
        // Adding the same id again keeps the stored row.
        var changed = delivery("d-1", endpoint: "a")
        changed.body = "{}"
        try await store.addWebhookDeliveries([changed])
        let stored = try await store.webhookDeliveries(eventID: "evt-1")
        XCTAssertEqual(stored, [delivery("d-1", endpoint: "a"), delivery("d-2", endpoint: "b")])

        // Only what is due is claimed; a claimed delivery is leased and not claimed again before the lease ends.
        let nothing = try await store.claimWebhookDeliveries(now: 99, leaseUntil: 130, limit: 10)
        XCTAssertEqual(nothing, [])
        let first = try await store.claimWebhookDeliveries(now: 100, leaseUntil: 130, limit: 1)
        XCTAssertEqual(first.map(\.id), ["d-1"])
        XCTAssertEqual(first.first?.nextAttemptAt, 130)
        let second = try await store.claimWebhookDeliveries(now: 100, leaseUntil: 130, limit: 10)
        XCTAssertEqual(second.map(\.id), ["d-2"])
        let none = try await store.claimWebhookDeliveries(now: 129, leaseUntil: 160, limit: 10)
        XCTAssertEqual(none, [])
        // A lease that ran out (a core died mid-attempt) makes the delivery due again.
        let again = try await store.claimWebhookDeliveries(now: 130, leaseUntil: 160, limit: 10)
        XCTAssertEqual(Set(again.map(\.id)), ["d-1", "d-2"])

        // Outcomes: a retry, a success, and no change after a delivery is finished.
        var retry = again.first { $0.id == "d-1" }!
        retry.attempts = 1
        retry.lastStatus = 500
        retry.lastError = "HTTP 500"
        retry.nextAttemptAt = 200
        try await store.saveWebhookDelivery(retry)
        var done = again.first { $0.id == "d-2" }!
        done.attempts = 1
        done.state = .delivered
        done.lastStatus = 204
        done.finishedAt = 131
        try await store.saveWebhookDelivery(done)
        await assertStoreError(.invalidInput) { try await store.saveWebhookDelivery(done) }
        await assertStoreError(.invalidInput) { try await store.saveWebhookDelivery(self.delivery("d-unknown")) }
        let afterwards = try await store.webhookDeliveries(eventID: "evt-1")
        XCTAssertEqual(afterwards, [retry, done])
        let counts = try await store.webhookDeliveryCounts()
        XCTAssertEqual(counts, [.pending: 2, .delivered: 1])

        // Bad input changes nothing.
        await assertStoreError(.invalidInput) { try await store.claimWebhookDeliveries(now: 10, leaseUntil: 10, limit: 1) }
        await assertStoreError(.invalidInput) { try await store.addWebhookDeliveries([self.delivery("")]) }
        var finished = delivery("d-9")
        finished.state = .dead
        await assertStoreError(.invalidInput) { try await store.addWebhookDeliveries([finished]) }
    }

    func concurrentWebhookClaimsNeverShareADelivery() async throws {
        let stores = [try await migratedStore(), try harness.openStore(), try harness.openStore()]
        try await stores[0].addWebhookDeliveries((0..<60).map { delivery(String(format: "d-%02d", $0), event: "evt-\($0)") })
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for store in stores {
                for _ in 0..<4 {
                    group.addTask { try await store.claimWebhookDeliveries(now: 100, leaseUntil: 200, limit: 7).map(\.id) }
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        XCTAssertEqual(claimed.count, Set(claimed).count, "a delivery was claimed twice: \(claimed.sorted())")
        let rest = try await stores[0].claimWebhookDeliveries(now: 100, leaseUntil: 200, limit: 100)
        XCTAssertEqual(Set(claimed).union(rest.map(\.id)).count, 60)
    }
}
